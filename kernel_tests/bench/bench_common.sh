# Shell pieces the nginx benchmarks share (capture_bench.sh,
# block_latency_bench.sh, mtls_handshake_bench.sh, reader_budget_bench.sh).
# Sourced, not run: `source "$(dirname "$0")/bench_common.sh"`.

# PID: SIGTERM, then SIGKILL after 10 s; reaps it. Only ever a pid the
# benchmark started itself.
bench_stop() {
  local pid=$1
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# SECONDS COMMAND...: until COMMAND succeeds, for at most SECONDS.
bench_wait_for() {
  local tries=$(( $1 * 10 )) i
  shift
  for ((i = 0; i < tries; i++)); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}

# DIR: a throwaway self-signed P-256 certificate for localhost in DIR/cert.pem
# and DIR/key.pem.
bench_server_cert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
    -keyout "$1/key.pem" -out "$1/cert.pem" 2>/dev/null
}

# WORK HTTP_DIRECTIVES SERVER_DIRECTIVES: writes WORK/nginx.conf for one nginx
# process with no master (so the pid the benchmark starts is the worker that
# serves, the one probes attach to), its logs, pid and temporary files under
# WORK, serving WORK/www, with the given directives (newline-separated) in the
# http block and in its one server block (listen, certificates, TLS options).
bench_nginx_conf() {
  local work=$1 http=$2 server=$3
  cat >"$work/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
error_log $work/error.log warn;
pid $work/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/body;
  proxy_temp_path $work/proxy;
  fastcgi_temp_path $work/fastcgi;
  uwsgi_temp_path $work/uwsgi;
  scgi_temp_path $work/scgi;
$(sed 's/^/  /' <<<"$http")
  server {
$(sed 's/^/    /' <<<"$server")
    root $work/www;
  }
}
CONF
}
