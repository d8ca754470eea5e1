package unix

import (
	"encoding/binary"
	"time"

	linux "golang.org/x/sys/unix"
)

// SOL_SOCKET options beyond x/sys/unix's names.
const (
	soRcvtimeoNew = 66
	soSndtimeoNew = 67
)

// flagOptions are the boolean and integer options that only keep their
// value on a Unix socket.
var flagOptions = map[int]bool{
	linux.SO_DEBUG: true, linux.SO_REUSEADDR: true, linux.SO_REUSEPORT: true,
	linux.SO_DONTROUTE: true, linux.SO_BROADCAST: true, linux.SO_KEEPALIVE: true,
	linux.SO_OOBINLINE: true, linux.SO_NO_CHECK: true, linux.SO_PASSSEC: true,
	linux.SO_TIMESTAMP: true, linux.SO_TIMESTAMPNS: true,
}

func int32Bytes(v int32) []byte {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, uint32(v))
	return b
}

func boolInt(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

func timevalBytes(d time.Duration) []byte {
	b := make([]byte, 16)
	if d > 0 {
		binary.LittleEndian.PutUint64(b, uint64(d/time.Second))
		binary.LittleEndian.PutUint64(b[8:], uint64(d%time.Second/time.Microsecond))
	}
	return b
}

// GetSockOpt returns a SOL_SOCKET option's value as getsockopt(2) copies
// it out (the caller truncates it to the user's length). Unknown options
// are ENOPROTOOPT.
func (s *Socket) GetSockOpt(name int) ([]byte, error) {
	s.ns.mu.Lock()
	defer s.ns.mu.Unlock()
	switch name {
	case linux.SO_TYPE:
		return int32Bytes(int32(s.typ)), nil
	case linux.SO_DOMAIN:
		return int32Bytes(linux.AF_UNIX), nil
	case linux.SO_PROTOCOL:
		return int32Bytes(0), nil
	case linux.SO_ERROR:
		e := s.err
		s.err = 0
		return int32Bytes(int32(e)), nil
	case linux.SO_SNDBUF:
		return int32Bytes(int32(s.sndbuf)), nil
	case linux.SO_RCVBUF:
		return int32Bytes(int32(s.rcvbuf)), nil
	case linux.SO_PASSCRED:
		return int32Bytes(boolInt(s.passcred)), nil
	case linux.SO_ACCEPTCONN:
		return int32Bytes(boolInt(s.state == stateListening)), nil
	case linux.SO_PEERCRED:
		// Without a peer: pid 0 and ids -1 (cred_to_ucred).
		c := Creds{PID: 0, UID: ^uint32(0), GID: ^uint32(0)}
		if s.peerCred != nil {
			c = *s.peerCred
		}
		b := make([]byte, 12)
		binary.LittleEndian.PutUint32(b, uint32(c.PID))
		binary.LittleEndian.PutUint32(b[4:], c.UID)
		binary.LittleEndian.PutUint32(b[8:], c.GID)
		return b, nil
	case linux.SO_PRIORITY:
		return int32Bytes(s.opts[name]), nil
	case linux.SO_LINGER:
		return append([]byte(nil), s.linger[:]...), nil
	case linux.SO_BSDCOMPAT:
		return int32Bytes(0), nil
	case linux.SO_RCVLOWAT:
		return int32Bytes(int32(s.rcvlowat)), nil
	case linux.SO_SNDLOWAT:
		return int32Bytes(1), nil
	case linux.SO_RCVTIMEO, soRcvtimeoNew:
		return timevalBytes(s.rcvtimeo), nil
	case linux.SO_SNDTIMEO, soSndtimeoNew:
		return timevalBytes(s.sndtimeo), nil
	case linux.SO_COOKIE:
		b := make([]byte, 8)
		binary.LittleEndian.PutUint64(b, s.ino)
		return b, nil
	}
	if flagOptions[name] {
		return int32Bytes(s.opts[name]), nil
	}
	return nil, linux.ENOPROTOOPT
}

// SetSockOpt sets a SOL_SOCKET option (sock_setsockopt): every value is at
// least an int (EINVAL); privileged callers may force buffer sizes and
// raise priorities. Options Linux does not let one set, and unknown ones,
// are ENOPROTOOPT.
func (s *Socket) SetSockOpt(name int, val []byte, privileged bool) error {
	if len(val) < 4 {
		return linux.EINVAL
	}
	v := int32(binary.LittleEndian.Uint32(val))
	s.ns.mu.Lock()
	defer s.ns.mu.Unlock()
	switch name {
	case linux.SO_SNDBUF, linux.SO_SNDBUFFORCE:
		n, err := bufSize(v, name == linux.SO_SNDBUFFORCE, privileged, minSndBuf)
		if err != nil {
			return err
		}
		s.sndbuf = n
		s.notifyLocked()
		return nil
	case linux.SO_RCVBUF, linux.SO_RCVBUFFORCE:
		n, err := bufSize(v, name == linux.SO_RCVBUFFORCE, privileged, minRcvBuf)
		if err != nil {
			return err
		}
		s.rcvbuf = n
		return nil
	case linux.SO_PASSCRED:
		s.passcred = v != 0
		return nil
	case linux.SO_PRIORITY:
		if (v < 0 || v > 6) && !privileged {
			return linux.EPERM
		}
		s.setOpt(name, v)
		return nil
	case linux.SO_LINGER:
		if len(val) < 8 {
			return linux.EINVAL
		}
		var l [8]byte
		if v != 0 {
			l[0] = 1
			copy(l[4:], val[4:8])
		}
		s.linger = l
		return nil
	case linux.SO_RCVLOWAT:
		if v < 0 {
			v = 1<<31 - 1
		}
		if v == 0 {
			v = 1
		}
		s.rcvlowat = int(v)
		return nil
	case linux.SO_RCVTIMEO, soRcvtimeoNew, linux.SO_SNDTIMEO, soSndtimeoNew:
		d, err := parseTimeval(val)
		if err != nil {
			return err
		}
		if name == linux.SO_RCVTIMEO || name == soRcvtimeoNew {
			s.rcvtimeo = d
		} else {
			s.sndtimeo = d
		}
		return nil
	}
	if flagOptions[name] {
		s.setOpt(name, boolInt(v != 0))
		return nil
	}
	return linux.ENOPROTOOPT
}

func (s *Socket) setOpt(name int, v int32) {
	if s.opts == nil {
		s.opts = make(map[int]int32)
	}
	s.opts[name] = v
}

// bufSize applies SO_SNDBUF/SO_RCVBUF's rule: the value, capped at the
// system maximum unless forced, doubled, and at least the minimum.
func bufSize(v int32, force, privileged bool, minimum int) (int, error) {
	if force && !privileged {
		return 0, linux.EPERM
	}
	n := int64(v)
	if force {
		if n < 0 {
			n = 0
		}
	} else if uint32(v) > maxBuf {
		n = maxBuf
	}
	n = min(n, (1<<31-1)/2)
	return max(int(n*2), minimum), nil
}

// parseTimeval decodes SO_RCVTIMEO's struct timeval: zero waits forever,
// a negative time not at all (EDOM for bad microseconds).
func parseTimeval(val []byte) (time.Duration, error) {
	if len(val) < 16 {
		return 0, linux.EINVAL
	}
	sec := int64(binary.LittleEndian.Uint64(val))
	usec := int64(binary.LittleEndian.Uint64(val[8:]))
	if usec < 0 || usec >= 1000000 {
		return 0, linux.EDOM
	}
	if sec < 0 {
		return -1, nil
	}
	if sec == 0 && usec == 0 {
		return 0, nil
	}
	if sec > int64(time.Duration(1<<62)/time.Second) {
		return 0, nil
	}
	return time.Duration(sec)*time.Second + time.Duration(usec)*time.Microsecond, nil
}
