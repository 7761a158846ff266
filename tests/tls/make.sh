#!/usr/bin/env bash
# Makes the certificates of the HTTPS discovery test (tests/discovery.rs), valid for a century:
# a test root CA, a server certificate for localhost and 127.0.0.1 signed by it, and a second,
# unrelated root CA. Test material only: these keys protect nothing.
set -euo pipefail
cd "$(dirname "$0")"
days=36500
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

ec ca.key
openssl req -x509 -new -key ca.key -days "$days" -subj "/CN=rocket_paseto test root" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out ca.pem

ec other-ca.key
openssl req -x509 -new -key other-ca.key -days "$days" -subj "/CN=rocket_paseto unrelated root" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out other-ca.pem

ec localhost.key
openssl req -new -key localhost.key -subj "/CN=localhost" -out localhost.csr
openssl x509 -req -in localhost.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days "$days" \
  -extfile <(printf '%s\n' "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
    "subjectAltName=DNS:localhost,IP:127.0.0.1") \
  -out localhost.pem
rm -f localhost.csr ca.srl ca.key other-ca.key
