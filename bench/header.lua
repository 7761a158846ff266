-- wrk script for bench/load.sh and bench/alternate.sh: one fixed header, HEADER_NAME:
-- HEADER_VALUE, on every request.
wrk.headers[os.getenv("HEADER_NAME")] = os.getenv("HEADER_VALUE")
