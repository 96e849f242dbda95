#!/usr/bin/env bash
# Makes a throw-away CA, a control-plane server certificate and one agent
# client certificate, for the quickstart and the tests. Real fleets enrol
# nodes with join tokens instead (docs/security.md).
#
#   make-demo-certs.sh DIR NODE_NAME
set -euo pipefail
dir=${1:?usage: make-demo-certs.sh DIR NODE_NAME}
node=${2:?usage: make-demo-certs.sh DIR NODE_NAME}
mkdir -p "$dir"
chmod 700 "$dir"
cd "$dir"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; chmod 600 "$1"; }

key ca.key
openssl req -x509 -new -key ca.key -sha256 -days 2 -subj "/CN=rampart demo CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt

key server.key
openssl req -new -key server.key -subj "/CN=rampart-cp" -out server.csr
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -sha256 -out server.crt \
  -extfile <(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n') 2>/dev/null

key node.key
openssl req -new -key node.key -subj "/CN=$node" -out node.csr
openssl x509 -req -in node.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -sha256 -out node.crt \
  -extfile <(printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n') 2>/dev/null
rm -f server.csr node.csr ca.srl
