package app

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestAClientAddressGetsAtMostItsShareOfConnections(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := guardListener(raw, 3, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer ln.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	for range 3 {
		dial()
		<-accepted
	}
	// The fourth from the same address is closed at once.
	extra := dial()
	extra.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := extra.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("a connection over the cap: read %v, want EOF (closed by the server)", err)
	}
	select {
	case <-accepted:
		t.Fatal("a connection over the cap was handed to the server")
	default:
	}
}

func TestClosingAConnectionFreesItsSlot(t *testing.T) {
	raw, _ := net.Listen("tcp", "127.0.0.1:0")
	ln := guardListener(raw, 1, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer ln.Close()
	for i := range 3 {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		a, err := ln.Accept()
		if err != nil {
			t.Fatalf("connection %d, after the previous one closed: %v", i, err)
		}
		a.Close()
		c.Close()
	}
}

func TestTrustedProxiesAreNotCapped(t *testing.T) {
	raw, _ := net.Listen("tcp", "127.0.0.1:0")
	ln := guardListener(raw, 1, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer ln.Close()
	for range 3 {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		a, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
	}
}
