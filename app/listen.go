package app

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// guardedListener caps the connections open at once from one client
// address (a flood from one host cannot take every file descriptor) and
// logs accept errors (file descriptors exhausted, …) at warn, at most once
// per interval with a count, instead of not at all.
type guardedListener struct {
	net.Listener
	perAddr int            // 0: no cap
	exempt  []netip.Prefix // trusted proxies: every client comes through them
	log     *slog.Logger

	mu     sync.Mutex
	open   map[netip.Addr]int
	failed int
	logged time.Time
}

// acceptLogInterval is how often a stream of accept errors is logged.
const acceptLogInterval = 10 * time.Second

func guardListener(ln net.Listener, perAddr int, exempt []netip.Prefix, log *slog.Logger) net.Listener {
	return &guardedListener{Listener: ln, perAddr: perAddr, exempt: exempt, log: log, open: map[netip.Addr]int{}}
}

// Accept returns the next connection whose address is under its cap;
// connections over it are closed at once.
func (l *guardedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			l.acceptFailed(err)
			return nil, err
		}
		addr, ok := remoteAddr(c)
		if !ok || l.perAddr <= 0 || l.isExempt(addr) {
			return c, nil
		}
		l.mu.Lock()
		if l.open[addr] >= l.perAddr {
			l.mu.Unlock()
			c.Close()
			continue
		}
		l.open[addr]++
		l.mu.Unlock()
		return &countedConn{Conn: c, release: func() { l.release(addr) }}, nil
	}
}

func (l *guardedListener) isExempt(a netip.Addr) bool {
	for _, p := range l.exempt {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (l *guardedListener) release(a netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[a]--; l.open[a] <= 0 {
		delete(l.open, a)
	}
}

func (l *guardedListener) acceptFailed(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failed++
	if time.Since(l.logged) < acceptLogInterval {
		return
	}
	l.log.Warn("accepting connections fails", "err", err, "failures", l.failed, "since", l.logged)
	l.logged, l.failed = time.Now(), 0
}

func remoteAddr(c net.Conn) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// countedConn releases its address's slot once, when closed.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// ReadFrom keeps the connection's fast path (sendfile for file bodies).
func (c *countedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}
