#!/bin/bash
# Cluster benchmark behind docs/benchmarks.md ("Cluster"): loadgen's s1 and
# s6 against one node on SQLite, one SQLite node behind nginx, one node on
# Redis, and two nodes on one Redis behind nginx (deploy/nginx/chat.conf).
# Every process started here is stopped here, by pid.
#
#   W=/tmp/cb deploy/bench/cluster.sh            # all of them
#   SCEN=s6 CONFIGS="redis2nginx" deploy/bench/cluster.sh
#
# Needs in $W: chat-server (go build -o $W/chat-server ./cmd/chat-server)
# and loadgen (the shared load generator, built from its own directory);
# redis-server, redis-cli, nginx, curl and python3 on PATH.
set -u
W=${W:-/tmp/cb}
CONF=${CONF:-$(cd "$(dirname "$0")/../nginx" && pwd)/chat.conf}
SCEN=${SCEN:-"s1 s6"}
CONFIGS=${CONFIGS:-"sqlite redis1 redis2nginx"}
ulimit -n 20000
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT

start_redis() {
  rm -rf $W/redis; mkdir -p $W/redis
  RP=$(free_port)
  redis-server --port $RP --bind 127.0.0.1 --dir $W/redis --appendonly yes --appendfsync always \
    --save "" --daemonize no --logfile $W/redis/redis.log &
  RPID=$!; PIDS+=($RPID)
  until redis-cli -p $RP ping 2>/dev/null | grep -q PONG; do sleep 0.1; done
}
start_node() { # $1 name, rest: extra flags; sets NURL NPID
  local name=$1; shift
  rm -rf $W/$name; mkdir -p $W/$name
  $W/chat-server --addr 127.0.0.1:0 --data $W/$name --rate-limits=false "$@" > $W/$name.out 2> $W/$name.log &
  NPID=$!; PIDS+=($NPID)
  for i in $(seq 100); do NURL=$(grep -o 'http://[0-9.:]*' $W/$name.out | head -1); [ -n "$NURL" ] && break; sleep 0.1; done
  until curl -sf $NURL/readyz >/dev/null; do sleep 0.1; done
}
start_nginx() { # upstream addrs...; sets LBURL
  local NP=$(free_port) d=$W/nginx
  rm -rf $d; mkdir -p $d
  local servers=""
  for a in "$@"; do servers="$servers    server ${a#http://} max_fails=1 fail_timeout=5s;\n"; done
  python3 - "$d" "$NP" "$servers" "$CONF" <<'PY'
import re,sys
d,port,servers=sys.argv[1],sys.argv[2],sys.argv[3].replace('\\n','\n')
s=open(sys.argv[4]).read()
lines=re.findall(r'(?m)^\s*server 127\.0\.0\.1:\d+ [^\n]*;\n',s)
s=s.replace(lines[0],servers,1)
for l in lines[1:]: s=s.replace(l,'',1)
s=re.sub(r'(?m)^\s*listen 80;','    listen 127.0.0.1:%s;'%port,s)
open(d+'/chat.conf','w').write(s)
open(d+'/nginx.conf','w').write(f"""daemon off; master_process off; worker_processes 1; worker_rlimit_nofile 20000;
pid {d}/nginx.pid; error_log {d}/error.log warn;
events {{ worker_connections 16000; }}
http {{ access_log off; client_body_temp_path {d}/b; proxy_temp_path {d}/p; fastcgi_temp_path {d}/f; uwsgi_temp_path {d}/u; scgi_temp_path {d}/s;
include {d}/chat.conf; }}
""")
PY
  nginx -p $d -c $d/nginx.conf & NGPID=$!; PIDS+=($NGPID)
  LBURL=http://127.0.0.1:$NP
  until curl -sf $LBURL/healthz >/dev/null; do sleep 0.1; done
}
token() { curl -s -X POST -H 'Content-Type: application/json' -d '{"nick":"bench","password":"bench-password-1"}' $1/api/session | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])'; }
ticks() { local t=0; for p in "$@"; do t=$((t + $(awk '{print $14+$15}' /proc/$p/stat))); done; echo $t; }
scenario() { # $1 scenario, $2 url, $3 label, $4 pid (0: none); SRV: all server-side pids
  local T=$(token $2)
  case $1 in
    s1) args="--subs 1000 --msgs 500 --rate 0 --pub-conns 8";;
    s6) args="--subs 5000 --msgs 10 --rate 2";;
  esac
  [ -n "${SMALL:-}" ] && args="--subs 200 --msgs 100 --rate 0 --pub-conns 8" # a quick check
  local before=$(ticks $SRV)
  $W/loadgen --proto ssechat --url $2 --topic general --token $T --sub-token $T $args --server-pid $4 --label "$3 $1" --max-seconds 90
  echo "server_side_cpu_ms_whole_run=$(( ($(ticks $SRV) - before) * 10 )) pids=\"$SRV\""
}
stop_all() { cleanup; PIDS=(); sleep 1; }

for cfg in $CONFIGS; do
  for sc in $SCEN; do
    case $cfg in
      sqlite) start_node single; SRV="$NPID"; scenario $sc $NURL "sqlite-1node" $NPID;;
      sqlite-nginx) start_node single; P1=$NPID; start_nginx $NURL; SRV="$P1 $NGPID"; scenario $sc $LBURL "sqlite-1node-nginx" $P1;;
      redis1) start_redis; start_node r1 --redis redis://127.0.0.1:$RP/0; SRV="$NPID $RPID"; scenario $sc $NURL "redis-1node" $NPID;;
      redis2nginx) start_redis; start_node r1 --redis redis://127.0.0.1:$RP/0; U1=$NURL; P1=$NPID
                   start_node r2 --redis redis://127.0.0.1:$RP/0; U2=$NURL; P2=$NPID
                   start_nginx $U1 $U2; SRV="$P1 $P2 $NGPID $RPID"; scenario $sc $LBURL "redis-2nodes-nginx" 0;;
    esac
    stop_all
  done
done
