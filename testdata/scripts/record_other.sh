#!/usr/bin/env bash
# Records testdata/other/*: TCP protocols that are not WebSocket, from real software on
# loopback, for the heuristics' corpus (tests/heuristics.rs requires zero WebSocket frames from
# each, cut anywhere). Needs root, tcpdump, curl, python3, openssl, ssh and sshd, redis-server
# and redis-cli, mosquitto and its clients, PostgreSQL (initdb, pg_ctl, psql), and Samba's smbd
# and smbclient: on Debian
#   apt-get install tcpdump curl openssl openssh-client openssh-server redis-server redis-tools \
#       mosquitto mosquitto-clients postgresql samba smbclient
# Only 127.0.0.1 is used. With arguments, records only the captures named.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../other"
mkdir -p "$out"
only="$*"
work=$(mktemp -d)
chmod 755 "$work" # the PostgreSQL cluster is run by user postgres
trap 'rm -rf "$work"' EXIT
# Some payload worth carrying: text, and bytes of every value.
head -c 20000 /dev/urandom > "$work/random.bin"
seq 1 3000 | sed 's/^/line of text /' > "$work/text.txt"

# record NAME PORT COMMAND...: tcpdump on lo for the port while COMMAND runs.
record() {
    local name=$1 port=$2 pid
    shift 2
    if [ -n "$only" ] && [[ " $only " != *" $name "* ]]; then return; fi
    local file="$out/$name"
    rm -f "$file"
    tcpdump -i lo -B 16384 -U -s 0 -w "$file" "tcp port $port" 2>/dev/null &
    pid=$!
    sleep 1.5
    "$@"
    sleep 1
    kill -INT "$pid"
    wait "$pid" || true
    echo "recorded $file ($(stat -c %s "$file") bytes)"
}

http() { # python's http.server, and curl fetching text and bytes, and posting bytes
    (cd "$work" && exec python3 -m http.server --bind 127.0.0.1 19101 >/dev/null 2>&1) &
    local server=$!
    sleep 1
    curl -s -o /dev/null http://127.0.0.1:19101/text.txt
    curl -s -o /dev/null http://127.0.0.1:19101/random.bin http://127.0.0.1:19101/text.txt
    curl -s -o /dev/null --data-binary @"$work/random.bin" http://127.0.0.1:19101/upload || true
    kill "$server"
}

tls() { # openssl s_server and s_client, bytes both ways
    openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 \
        -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
    openssl s_server -quiet -accept 127.0.0.1:19102 -cert "$work/cert.pem" -key "$work/key.pem" \
        < <(sleep 1; cat "$work/random.bin"; sleep 2) > /dev/null 2>&1 &
    local server=$!
    sleep 1
    (cat "$work/text.txt"; sleep 3) | timeout 5 openssl s_client -quiet -connect 127.0.0.1:19102 > /dev/null 2>&1 || true
    kill "$server" 2>/dev/null || true
}

ssh_session() { # sshd with a fresh host key; a client with a key runs a command both ways
    mkdir -p /run/sshd
    ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
    ssh-keygen -q -t ed25519 -N '' -f "$work/client_key"
    cat > "$work/sshd_config" <<EOF
Port 19103
ListenAddress 127.0.0.1
HostKey $work/host_key
AuthorizedKeysFile $work/client_key.pub
PermitRootLogin yes
StrictModes no
PidFile $work/sshd.pid
EOF
    /usr/sbin/sshd -f "$work/sshd_config"
    sleep 1
    ssh -q -i "$work/client_key" -p 19103 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
        root@127.0.0.1 "cat > /dev/null; head -c 30000 /dev/urandom" < "$work/random.bin" > /dev/null
    kill "$(cat "$work/sshd.pid")"
}

redis() { # redis-server, and redis-cli setting and reading strings, bytes and lists
    redis-server --port 19104 --bind 127.0.0.1 --save '' --appendonly no --daemonize no > /dev/null &
    local server=$!
    sleep 1
    redis-cli -p 19104 -x set blob < "$work/random.bin" > /dev/null
    redis-cli -p 19104 get blob > /dev/null
    for i in $(seq 1 50); do echo "RPUSH list item-$i"; done | redis-cli -p 19104 > /dev/null
    redis-cli -p 19104 lrange list 0 -1 > /dev/null
    redis-cli -p 19104 info > /dev/null
    kill "$server"
}

mqtt() { # mosquitto, a subscriber and a publisher of text and bytes at QoS 0, 1 and 2
    mosquitto -p 19105 > /dev/null 2>&1 &
    local broker=$!
    sleep 1
    timeout 6 mosquitto_sub -p 19105 -t 'test/#' -q 1 > /dev/null &
    local sub=$!
    sleep 0.5
    for q in 0 1 2; do
        for i in $(seq 1 10); do mosquitto_pub -p 19105 -t "test/$q" -q "$q" -m "message $i at qos $q"; done
        mosquitto_pub -p 19105 -t "test/bin" -q "$q" -f "$work/random.bin"
    done
    wait "$sub" || true
    kill "$broker"
}

postgres() { # a fresh cluster, and psql creating, filling and reading a table
    local data="$work/pg"
    mkdir -p "$data" && chown postgres "$data"
    local bin
    bin=$(dirname "$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb | head -n 1)")
    su postgres -c "$bin/initdb -D $data -A trust" > /dev/null
    su postgres -c "$bin/pg_ctl -D $data -o '-p 19106 -h 127.0.0.1 -k $data' -l $data/server.log -w start" > /dev/null
    psql -h 127.0.0.1 -p 19106 -U postgres -q -c "create table t (id int, name text, data bytea)" > /dev/null
    psql -h 127.0.0.1 -p 19106 -U postgres -q -c \
        "insert into t select i, 'name ' || i, decode(md5(i::text), 'hex') from generate_series(1, 500) i" > /dev/null
    psql -h 127.0.0.1 -p 19106 -U postgres -q -c "select * from t" > /dev/null
    su postgres -c "$bin/pg_ctl -D $data -w stop" > /dev/null
}

smb() { # smbd with a guest share; smbclient writes, lists and reads back a file (SMB 3)
    mkdir -p "$work/smb/share" "$work/smb/state"
    chmod 777 "$work/smb/share"
    local state="$work/smb/state"
    cat > "$work/smb/smb.conf" <<EOF
[global]
  server role = standalone server
  interfaces = lo
  bind interfaces only = yes
  smb ports = 19108
  map to guest = Bad User
  guest account = nobody
  private dir = $state
  lock directory = $state
  state directory = $state
  cache directory = $state
  pid directory = $state
  ncalogdir = $state
  log file = $state/log.%m
  disable spoolss = yes
  load printers = no
[share]
  path = $work/smb/share
  guest ok = yes
  read only = no
EOF
    # smbd signals its process group on exit: it gets a session of its own.
    setsid smbd --foreground --no-process-group -s "$work/smb/smb.conf" > /dev/null 2>&1 &
    sleep 2
    (cd "$work" && smbclient //127.0.0.1/share -p 19108 -N -s "$work/smb/smb.conf" \
        -c 'put random.bin; put text.txt; ls; get random.bin /dev/null; get text.txt /dev/null' > /dev/null 2>&1)
    pkill -f "smbd --foreground --no-process-group -s $work/smb/smb.conf" || true
}

random_bytes() { # a server and a client sending each other random bytes in random-sized writes
    python3 - <<'EOF'
import os, random, socket, threading
random.seed(7)
srv = socket.socket()
srv.bind(("127.0.0.1", 19107))
srv.listen()
def pump(sock, total):
    while total > 0:
        n = min(total, random.randint(1, 4000))
        sock.sendall(os.urandom(n))
        total -= n
def drain(sock):
    while sock.recv(65536):
        pass
def exchange(sock, total):
    reader = threading.Thread(target=drain, args=(sock,))
    reader.start()
    pump(sock, total)
    sock.shutdown(socket.SHUT_WR)
    reader.join()
    sock.close()
server = threading.Thread(target=lambda: exchange(srv.accept()[0], 200_000))
server.start()
exchange(socket.create_connection(("127.0.0.1", 19107)), 100_000)
server.join()
EOF
}

record http.pcap 19101 http
record tls.pcap 19102 tls
record ssh.pcap 19103 ssh_session
record redis.pcap 19104 redis
record mqtt.pcap 19105 mqtt
record postgres.pcap 19106 postgres
record random.pcap 19107 random_bytes
record smb.pcap 19108 smb
