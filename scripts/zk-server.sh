#!/usr/bin/env bash
# zk-server.sh - a throwaway ZooKeeper server on loopback, for the 'zk' test suite and
# `ckptsim zk probe`. Debian's `zookeeper` package (3.8) provides the jar.
#
#   scripts/zk-server.sh start   start a standalone server on a free 127.0.0.1 port, wait
#                                (bounded) until `srvr` says "Mode: standalone", print
#                                CKPTSIM_TEST_ZK=127.0.0.1:PORT
#   scripts/zk-server.sh env     print CKPTSIM_TEST_ZK=... of the running server
#   scripts/zk-server.sh stop    stop that server (by its PID only) and remove its files
#
# State lives in $CKPTSIM_ZK_DIR (default /tmp/ckptsim-zk-$UID): zoo.cfg, data/, zk.out
# (the server's log), zk.pid, zk.addr. Settings: tickTime=2000 (sessions of 4..40 s), no
# admin server, only the `srvr` four-letter word, and -Dzookeeper.forceSync=no (writes
# ~0.1 ms instead of ~0.4 ms; fine for a throwaway server).
set -u
dir=${CKPTSIM_ZK_DIR:-/tmp/ckptsim-zk-$(id -u)}
jars=/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar

die() { echo "zk-server.sh: $*" >&2; exit 1; }

srvr() { # srvr PORT: the server's answer to `srvr`, empty if none
  timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && printf srvr >&3 && cat <&3" 2>/dev/null
}

running() {
  [ -f "$dir/zk.pid" ] && kill -0 "$(cat "$dir/zk.pid")" 2>/dev/null
}

start() {
  [ -f /usr/share/java/zookeeper.jar ] || die "no ZooKeeper server (apt-get install zookeeper)"
  command -v java >/dev/null || die "no java on PATH"
  if running; then
    echo "CKPTSIM_TEST_ZK=$(cat "$dir/zk.addr")"
    return 0
  fi
  rm -rf "$dir"
  mkdir -p "$dir/data" || die "cannot create $dir"
  local port
  port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])') \
    || die "cannot find a free port"
  cat >"$dir/zoo.cfg" <<CFG
tickTime=2000
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=srvr
CFG
  setsid java -Xmx256m -Dzookeeper.forceSync=no -cp "$jars" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" \
    >"$dir/zk.out" 2>&1 </dev/null &
  echo $! >"$dir/zk.pid"
  echo "127.0.0.1:$port" >"$dir/zk.addr"
  # `ruok` answers before the database is loaded; `srvr` with a Mode line does not.
  for _ in $(seq 1 300); do
    case "$(srvr "$port")" in *"Mode: standalone"*)
      echo "CKPTSIM_TEST_ZK=127.0.0.1:$port"
      return 0 ;;
    esac
    running || die "the server exited at start (see $dir/zk.out)"
    sleep 0.1
  done
  stop
  die "the server did not answer srvr within 30 s"
}

stop() {
  if [ -f "$dir/zk.pid" ]; then
    local pid
    pid=$(cat "$dir/zk.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    fi
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) running || die "no server running (scripts/zk-server.sh start)"
       echo "CKPTSIM_TEST_ZK=$(cat "$dir/zk.addr")" ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
