"""Writes a crate that depends on rocket_paseto with only the Quickstart's dependencies and
whose main.rs is the README's Quickstart plus the custom-kind snippet of the guards guide: a
newcomer copying them gets code that builds."""

import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
out = pathlib.Path(sys.argv[1])


def block_after(path, heading, fence):
    text = (root / path).read_text()
    start = text.index(heading)
    match = re.compile(re.escape(fence) + r"\n(.*?)\n```", re.S).search(text, start)
    return match.group(1)


quickstart = block_after("README.md", "## Quickstart", "```rust,no_run")
custom_kind = block_after("docs/guards-and-claims.md", "## Your own kinds and claims", "```rust")
dependencies = block_after("README.md", "## Quickstart", "```toml")
clone = 'rocket_paseto = { path = "../rocket_paseto" }'
assert clone in dependencies, dependencies
dependencies = dependencies.replace(clone, f'rocket_paseto = {{ path = "{root}" }}')

(out / "src").mkdir(parents=True, exist_ok=True)
(out / "Cargo.toml").write_text(
    '[package]\nname = "quickstart"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n'
    + dependencies.replace("# Cargo.toml\n", "")
    + "\n\n[workspace]\n"
)
(out / "src" / "main.rs").write_text(
    quickstart + "\n\n#[allow(dead_code, unused_variables)]\nfn custom_kind() {\n" + custom_kind + "\n}\n"
)
