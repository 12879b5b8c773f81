package server_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ninja-ipfs/ninja/app"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/store"
)

func withBodyPacing(idle time.Duration, minRate int64, window time.Duration) envOption {
	return func(o *app.Options) {
		o.Server.BodyIdleTimeout, o.Server.BodyMinRate, o.Server.BodyRateWindow = idle, minRate, window
	}
}

// rawUpload opens a connection and sends a multipart upload's headers and
// its first bytes, then calls feed to send the rest; it returns the
// status line the server answered with.
func rawUpload(t *testing.T, e *env, feed func(w *bufio.Writer)) (string, time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.http.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "POST /upload HTTP/1.1\r\nHost: x\r\nX-Api-Key: %s\r\nContent-Type: multipart/form-data; boundary=XX\r\nTransfer-Encoding: chunked\r\n\r\n", e.key)
	chunk := "--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow.bin\"\r\n\r\nfirst bytes"
	fmt.Fprintf(w, "%x\r\n%s\r\n", len(chunk), chunk)
	w.Flush()
	start := time.Now()
	done := make(chan struct{})
	go func() { defer close(done); feed(w) }()
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	<-done
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	return strings.TrimSpace(line), time.Since(start)
}

func TestASilentBodyIsCutOffAtItsIdleTimeout(t *testing.T) {
	e := newEnv(t, withBodyPacing(300*time.Millisecond, -1, 0))
	status, took := rawUpload(t, e, func(*bufio.Writer) {}) // then nothing
	if !strings.Contains(status, "408") || took > 5*time.Second {
		t.Fatalf("a body silent after its first bytes got %q after %v, want 408 soon after 300ms", status, took)
	}
	if _, n, _ := e.store.ListPins(e.acct.ID, store.PinFilter{}); n != 0 {
		t.Fatalf("%d pins from a body that never finished", n)
	}
}

func TestATricklingBodyIsCutOffBelowItsMinimumRate(t *testing.T) {
	e := newEnv(t, withBodyPacing(5*time.Second, 10<<10, 500*time.Millisecond))
	stop := make(chan struct{})
	defer close(stop)
	status, took := rawUpload(t, e, func(w *bufio.Writer) {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			fmt.Fprintf(w, "1\r\nx\r\n") // 20 bytes/s: never silent, far below 10 KiB/s
			if w.Flush() != nil {
				return
			}
		}
	})
	if !strings.Contains(status, "408") || took > 5*time.Second {
		t.Fatalf("a trickling body got %q after %v, want 408 after the 500ms window", status, took)
	}
}

func TestOneAccountsSlowJSONUploadsLeaveSlotsForOthers(t *testing.T) {
	e := newEnv(t, withBodyPacing(time.Minute, -1, 0))
	other, _ := e.store.CreateAccount("other")
	otherKey := e.mintKey(other.ID, pinning.DefaultKeyScopes()...)
	// Four slow /upload/new bodies from one account hold its slots…
	var conns []net.Conn
	for range 4 {
		c, err := net.Dial("tcp", strings.TrimPrefix(e.http.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /upload/new HTTP/1.1\r\nHost: x\r\nX-Api-Key: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"content\":", e.key)
		conns = append(conns, c)
	}
	time.Sleep(200 * time.Millisecond)
	// …and another account's upload still goes through at once.
	start := time.Now()
	r := e.postJSON("/upload/new", otherKey, map[string]any{"content": map[string]string{"a": "b"}})
	if r.status != http.StatusOK || time.Since(start) > 3*time.Second {
		t.Fatalf("another account's JSON upload during four slow ones: %d after %v", r.status, time.Since(start))
	}
	_ = conns
}
