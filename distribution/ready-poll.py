# ready-poll.py SOCKET T0_NS LIMIT_S [COMMAND] - polls a netvm control socket every 5 ms until COMMAND
# (default `help`; `status` answers 0 once the agent is in sync) ends with exit status 0, then prints the
# milliseconds since T0_NS (ns since the epoch) and exits 0; exits 1 after LIMIT_S seconds.
# The protocol of org.netvm.control: u32 argc + u32-length-prefixed args; answer frames u8 channel + u32
# length + payload, channel 'x' = exit status. Used by measure-startup.sh and tests/bench/{footprint,bundlecache}.sh.
import socket, struct, sys, time
path, t0, limit = sys.argv[1], int(sys.argv[2]), time.time() + float(sys.argv[3])
cmd = (sys.argv[4] if len(sys.argv) > 4 else "help").encode()
req = struct.pack(">I", 1) + struct.pack(">I", len(cmd)) + cmd
def ask():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(path); s.sendall(req); buf = b""
        while True:
            d = s.recv(65536)
            if not d: return False
            buf += d
            while len(buf) >= 5:
                ch, n = buf[0:1], struct.unpack(">I", buf[1:5])[0]
                if len(buf) < 5 + n: break
                if ch == b"x": return struct.unpack(">i", buf[5:9])[0] == 0
                buf = buf[5 + n:]
    except OSError:
        return False
    finally:
        s.close()
while time.time() < limit:
    if ask():
        print((time.time_ns() - t0) // 1_000_000); sys.exit(0)
    time.sleep(0.005)
sys.exit(1)
