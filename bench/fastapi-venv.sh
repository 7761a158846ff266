# Sourced by bench/load.sh and bench/day.sh: setup_fastapi makes (or reuses) the venv for
# fastapi-paseto under the cargo target directory, with bench/fastapi-requirements.txt, and sets
# $fastapi_python, or $fastapi_note to say why there is none. It needs $target_dir and $work.
fastapi_python=""
fastapi_note=""
setup_fastapi() {
  local venv=$target_dir/bench-venv requirements=bench/fastapi-requirements.txt
  if ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    rm -rf "$venv"
    mkdir -p "$target_dir"
    if ! python3 -m venv "$venv" >"$work/venv.log" 2>&1; then
      rm -rf "$venv"
      fastapi_note="python3 -m venv failed (apt-get install python3-venv)"
      return
    fi
  fi
  if ! cmp -s "$requirements" "$venv/installed-requirements.txt"; then
    echo "(installing $requirements into $venv)"
    if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --retries 1 \
      --timeout 20 -r "$requirements" >"$work/pip.log" 2>&1; then
      fastapi_note="pip could not install $requirements (is PyPI reachable?): $(tail -1 "$work/pip.log")"
      return
    fi
    cp "$requirements" "$venv/installed-requirements.txt"
  fi
  local versions
  if ! versions=$("$venv/bin/python" - 2>"$work/import.log" <<'PY'
import platform
from importlib.metadata import version
import fastapi_paseto, httptools, uvicorn, uvloop  # noqa: F401 (fastapi_paseto needs 3.10+)
names = ("fastapi-paseto", "fastapi", "pyseto", "uvicorn", "uvloop", "httptools")
print(f"{platform.python_implementation()} {platform.python_version()}; "
      + ", ".join(f"{n} {version(n)}" for n in names))
PY
  ); then
    fastapi_note="the venv's Python cannot import them: $(tail -1 "$work/import.log")"
    return
  fi
  echo "python: $versions"
  fastapi_python=$venv/bin/python
}
