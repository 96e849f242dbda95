#!/usr/bin/env bash
# Installs every Debian 12 package Rampart needs to build, run and test.
# Idempotent: packages already present are left alone, and apt is only asked when
# something is missing, so a second run costs a dpkg query.
set -euo pipefail

packages=(
  # build
  cmake make g++ clang llvm pkg-config
  # kernel side: CO-RE objects and skeletons
  libbpf-dev bpftool libelf-dev zlib1g-dev
  # user space libraries
  libssl-dev libboost-program-options-dev libprotobuf-dev protobuf-compiler
  libgrpc++-dev protobuf-compiler-grpc libspdlog-dev libyaml-cpp-dev
  # inspection: multi-pattern prefilter, HTTP/2 HPACK; libinjection (inside
  # libmodsecurity3) is the baseline the attack detectors are evaluated against
  libvectorscan-dev libnghttp2-dev libmodsecurity-dev
  # control plane: embedded policy store; etcd members for the HA tests
  libsqlite3-dev etcd-server
  # metrics: the Prometheus text format and /metrics endpoint (pull)
  prometheus-cpp-dev
  # tests
  libgtest-dev libgmock-dev
  # packaging: dpkg-shlibdeps for cpack's DEB dependencies; systemd-analyze,
  # systemd-tmpfiles and systemd-sysusers for the units and the package tests
  dpkg-dev systemd
  # runtime and test peers
  iproute2 openssl python3 util-linux curl procps nginx-light
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages ${missing[*]}; run as root" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
