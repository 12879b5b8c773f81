package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/ninja-ipfs/ninja/app"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// TestPinByCIDFetchesFromOrigins pins content that only another node on
// loopback holds: ninja dials the origin, fetches the DAG over bitswap,
// and the gateway then serves the bytes.
func TestPinByCIDFetchesFromOrigins(t *testing.T) {
	pe := newEnv(t, withFetch(pinning.FetchConfig{Timeout: 20 * time.Second}))
	peer := newPeer(t)
	data := fixtureBytes(42, 3<<20+17) // several blocks and a root node
	c := addFile(t, peer, data)

	res := pe.psaAdd(pe.key, map[string]any{"cid": c.String(), "name": "remote", "origins": peer.Addrs()})
	if res.status != http.StatusAccepted {
		t.Fatalf("add: %d %s", res.status, res.body)
	}
	first := res.json(t)
	if first["status"] != "queued" {
		t.Errorf("a CID held elsewhere starts %v, want queued", first["status"])
	}
	m := pe.waitStatus(pe.key, first["requestid"].(string), 20*time.Second)
	if m["status"] != "pinned" {
		t.Fatalf("pin ended %v: %v", m["status"], m["info"])
	}
	if info, _ := m["info"].(map[string]any); info["dag_size"] == nil {
		t.Errorf("a pinned object has no info.dag_size: %v", m)
	}
	got := pe.get("/ipfs/"+c.String(), "")
	if got.status != http.StatusOK || !bytes.Equal(got.body, data) {
		t.Fatalf("gateway served %d, %d bytes; want the %d pinned bytes", got.status, len(got.body), len(data))
	}
	st := pe.get("/pin/"+c.String(), pe.key).json(t)
	if st["status"] != "pinned" || st["pinned"] != true {
		t.Errorf("GET /pin/{cid} = %v", st)
	}
}

func TestPinByCIDFailsAfterTheTimeout(t *testing.T) {
	pe := newEnv(t, withFetch(pinning.FetchConfig{Timeout: 300 * time.Millisecond}))
	peer := newPeer(t)
	c := addFile(t, peer, []byte("nobody will serve this")) // peer is never dialled

	// IPFS.NINJA's form: POST /pin answers 202 with the pin status.
	res := pe.postJSON("/pin", pe.key, map[string]any{"cid": c.String(), "description": "lost", "metadata": map[string]string{"k": "v"}})
	if res.status != http.StatusAccepted {
		t.Fatalf("POST /pin: %d %s", res.status, res.body)
	}
	st := res.json(t)
	if st["status"] != "queued" || st["pinned"] != false || st["description"] != "lost" {
		t.Errorf("POST /pin answered %v", st)
	}
	m := pe.waitStatus(pe.key, st["requestId"].(string), 10*time.Second)
	if m["status"] != "failed" {
		t.Fatalf("an unreachable CID ended %v, want failed", m["status"])
	}
	if info, _ := m["info"].(map[string]any); !strings.Contains(fmt.Sprint(info["status_details"]), "within 300ms") {
		t.Errorf("failed pin's reason = %v", m["info"])
	}
	got := pe.get("/pins/"+c.String(), pe.key).json(t)
	if got["status"] != "failed" || !strings.Contains(fmt.Sprint(got["reason"]), "within") {
		t.Errorf("GET /pins/{cid} = %v", got)
	}
}

// TestPinQueueIsBoundedAndSurvivesRestart queues three unreachable CIDs
// with one fetch per account, checks only one runs, restarts the server
// and checks the requests resume and finish once the content is reachable.
func TestPinQueueIsBoundedAndSurvivesRestart(t *testing.T) {
	pe := newEnv(t, withFetch(pinning.FetchConfig{Timeout: 20 * time.Second, MaxPerAccount: 1, MaxConcurrent: 4}))
	peer := newPeer(t)
	var ids []string
	var cids []cid.Cid
	for i := range 3 {
		c := addFile(t, peer, fmt.Appendf(nil, "queued %d", i))
		cids = append(cids, c)
		res := pe.psaAdd(pe.key, map[string]any{"cid": c.String()})
		ids = append(ids, res.json(t)["requestid"].(string))
	}
	statuses := func() map[string]int {
		out := map[string]int{}
		for _, id := range ids {
			out[pe.get("/psa/pins/"+id, pe.key).json(t)["status"].(string)]++
		}
		return out
	}
	deadline := time.Now().Add(5 * time.Second)
	for statuses()["pinning"] != 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := statuses(); got["pinning"] != 1 || got["queued"] != 2 {
		t.Fatalf("with one fetch per account: %v, want 1 pinning and 2 queued", got)
	}
	if q, r := pe.svc.QueueStats(); q != 2 || r != 1 {
		t.Errorf("queue stats: %d queued, %d running; want 2 and 1", q, r)
	}

	// Restart as a shutdown would: nothing is marked failed, and every
	// request, including the one that was pinning, is still pending.
	pe.restart()
	if got := statuses(); got["failed"] != 0 || got["pinned"] != 0 {
		t.Fatalf("after a restart: %v, want every request still pending", got)
	}
	// The node can now reach the content: every request resumes and completes.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, a := range peer.Addrs() {
		if err := pe.node.Connect(ctx, a); err == nil {
			break
		}
	}
	for i, id := range ids {
		if m := pe.waitStatus(pe.key, id, 20*time.Second); m["status"] != "pinned" {
			t.Errorf("request %d after restart: %v", i, m["status"])
		}
		if ok, _ := pe.node.Has(ctx, cids[i]); !ok {
			t.Errorf("request %d pinned but its root is not stored", i)
		}
	}
}

// TestGCKeepsEveryReferencedCID: a CID pinned by two accounts stays until
// both pins are gone, and GC then frees its blocks.
func TestGCKeepsEveryReferencedCID(t *testing.T) {
	pe := newEnv(t, withFetch(pinning.FetchConfig{Timeout: 5 * time.Second}))
	other, _ := pe.store.CreateAccount("other")
	otherKey := pe.mintKey(other.ID, token.ScopePinsRead, token.ScopePinsWrite)
	// The content comes from another node by pin-by-CID, not from an
	// upload (whose roots the node keeps for a grace period after commit).
	peer := newPeer(t)
	data := fixtureBytes(7, 2<<20+5)
	c := addFile(t, peer, data).String()
	first := pe.psaAdd(pe.key, map[string]any{"cid": c, "origins": peer.Addrs()}).json(t)
	if m := pe.waitStatus(pe.key, first["requestid"].(string), 20*time.Second); m["status"] != "pinned" {
		t.Fatalf("pin from the peer ended %v", m["status"])
	}
	theirs := pe.psaAdd(otherKey, map[string]any{"cid": c}).json(t)
	if theirs["status"] != "pinned" {
		t.Fatalf("pinning a CID held locally: %v, want pinned at once", theirs["status"])
	}
	gc := func() map[string]any {
		res := pe.do("POST", "/admin/gc", map[string]string{"Authorization": "Bearer " + pe.admin}, nil)
		if res.status != http.StatusOK {
			t.Fatalf("POST /admin/gc: %d %s", res.status, res.body)
		}
		return res.json(t)
	}

	mine, _ := pe.store.PinsByCID(pe.acct.ID, c)
	if res := pe.do("DELETE", "/psa/pins/"+mine[0].ID, map[string]string{"Authorization": "Bearer " + pe.key}, nil); res.status != http.StatusAccepted || len(res.body) != 0 {
		t.Fatalf("DELETE: %d %q, want 202 with no body", res.status, res.body)
	}
	if g := gc(); g["blocksFreed"] != 0.0 {
		t.Errorf("GC with the other account's pin freed %v blocks", g["blocksFreed"])
	}
	if got := pe.get("/ipfs/"+c, ""); !bytes.Equal(got.body, data) {
		t.Fatal("content pinned by another account was lost")
	}

	if res := pe.do("DELETE", "/psa/pins/"+theirs["requestid"].(string), map[string]string{"Authorization": "Bearer " + otherKey}, nil); res.status != http.StatusAccepted {
		t.Fatalf("DELETE: %d", res.status)
	}
	g := gc()
	if g["blocksFreed"] != 4.0 || g["bytesFreed"].(float64) < float64(len(data)) {
		t.Errorf("GC after the last pin went freed %v blocks, %v bytes; want 4 blocks, >= %d bytes", g["blocksFreed"], g["bytesFreed"], len(data))
	}
	if got := pe.get("/ipfs/"+c, ""); got.status != http.StatusNotFound {
		t.Errorf("gateway after GC: %d, want 404", got.status)
	}
	// The admin route needs scope admin.
	if res := pe.do("POST", "/admin/gc", map[string]string{"Authorization": "Bearer " + pe.key}, nil); res.status != http.StatusForbidden {
		t.Errorf("POST /admin/gc with a non-admin key: %d, want 403", res.status)
	}
}

// TestGCDuringUploads runs GC repeatedly while uploads stream in, then
// reads every acknowledged upload back intact.
func TestGCDuringUploads(t *testing.T) {
	pe := newEnv(t, withFetch(pinning.FetchConfig{Timeout: 5 * time.Second}))
	const uploads = 40
	type acked struct {
		cid  string
		data []byte
	}
	var (
		mu  sync.Mutex
		got []acked
		wg  sync.WaitGroup
	)
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for i := range uploads {
			data := fixtureBytes(uint64(1000+i), 200<<10+i) // one block each... and a few over 1 MiB below
			if i%10 == 0 {
				data = fixtureBytes(uint64(1000+i), 1<<20+i)
			}
			ct, body := multipartBody(t, nil, filePart{name: "f", data: data})
			req, _ := http.NewRequest("POST", pe.http.URL+"/upload", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+pe.key)
			req.Header.Set("Content-Type", ct)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				var m struct{ CID string }
				if err := jsonUnmarshal(b, &m); err == nil {
					mu.Lock()
					got = append(got, acked{m.CID, data})
					mu.Unlock()
				}
			}
		}
	}()
	rounds := 0
	for {
		select {
		case <-done:
		default:
			if _, err := pe.svc.CollectGarbage(context.Background()); err != nil {
				t.Fatal(err)
			}
			rounds++
			continue
		}
		break
	}
	wg.Wait()
	if _, err := pe.svc.CollectGarbage(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(got) != uploads {
		t.Fatalf("%d of %d uploads acknowledged", len(got), uploads)
	}
	for _, a := range got {
		res := pe.get("/ipfs/"+a.cid, "")
		if res.status != http.StatusOK || !bytes.Equal(res.body, a.data) {
			t.Fatalf("acknowledged upload %s read back %d, %d bytes; want %d bytes", a.cid, res.status, len(res.body), len(a.data))
		}
	}
	t.Logf("%d GC rounds ran during %d uploads", rounds, uploads)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// TestCARExportRoundTrips exports a pinned DAG as a CAR (admin export and
// the gateway), imports it into another ninja through the upload path, and
// gets the same root and byte-identical exports back.
func TestCARExportRoundTrips(t *testing.T) {
	a := newEnv(t)
	b := newEnv(t)
	data := fixtureBytes(99, 2<<20+3)
	c := a.uploadCID(a.key, data)

	exp := a.do("GET", "/admin/export/"+c, map[string]string{"Authorization": "Bearer " + a.admin}, nil)
	if exp.status != http.StatusOK || exp.header.Get("Content-Type") != "application/vnd.ipld.car; version=1" {
		t.Fatalf("export: %d %s", exp.status, exp.header.Get("Content-Type"))
	}
	gw := a.get("/ipfs/"+c+"?format=car&dag-scope=all&car-order=dfs&car-dups=n", "")
	if !bytes.Equal(gw.body, exp.body) {
		t.Errorf("gateway CAR (%d bytes) differs from the export (%d bytes)", len(gw.body), len(exp.body))
	}

	imp := b.do("POST", "/upload", map[string]string{"Authorization": "Bearer " + b.key, "Content-Type": "application/vnd.ipld.car"}, bytes.NewReader(exp.body))
	if imp.status != http.StatusOK || imp.json(t)["cid"] != c {
		t.Fatalf("CAR import: %d %s, want root %s", imp.status, imp.body, c)
	}
	again := b.do("GET", "/admin/export/"+c, map[string]string{"Authorization": "Bearer " + b.admin}, nil)
	if !bytes.Equal(again.body, exp.body) {
		t.Errorf("re-export after import is %d bytes, not the %d exported", len(again.body), len(exp.body))
	}
	if got := b.get("/ipfs/"+c, ""); !bytes.Equal(got.body, data) {
		t.Error("imported DAG does not read back as the uploaded bytes")
	}
	if res := a.do("GET", "/admin/export/"+c, map[string]string{"Authorization": "Bearer " + a.key}, nil); res.status != http.StatusForbidden {
		t.Errorf("export with a non-admin key: %d, want 403", res.status)
	}
}

func TestGCDoesNotWaitForASlowUploadNorStallOthers(t *testing.T) {
	e := newEnv(t)
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", e.http.URL+"/upload", pr)
	req.Header.Set("Content-Type", "multipart/form-data; boundary=XX")
	req.Header.Set("X-Api-Key", e.key)
	slow := fixtureBytes(61, 3<<20)
	done := make(chan map[string]any, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- nil
			return
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		done <- m
	}()
	pw.Write([]byte("--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow.bin\"\r\n\r\n"))
	pw.Write(slow[:2<<20]) // two of three MiB: a batch is written, the upload stays open

	start := time.Now()
	gc := e.do("POST", "/admin/gc", map[string]string{"X-Api-Key": e.admin}, nil)
	if gc.status != 200 || time.Since(start) > 5*time.Second {
		t.Fatalf("gc during a slow upload: %d after %v", gc.status, time.Since(start))
	}
	quick := e.upload(e.key, "", nil, filePart{name: "quick.txt", data: []byte("not stalled")})
	if quick.status != 200 || time.Since(start) > 10*time.Second {
		t.Fatalf("an upload during a slow one and a gc: %d after %v", quick.status, time.Since(start))
	}

	pw.Write(slow[2<<20:])
	pw.Write([]byte("\r\n--XX--\r\n"))
	pw.Close()
	m := <-done
	if m == nil || m["cid"] == nil {
		t.Fatalf("slow upload: %v", m)
	}
	if got := e.get("/ipfs/"+m["cid"].(string), ""); !bytes.Equal(got.body, slow) {
		t.Fatal("the slow upload's bytes were damaged by the gc that ran during it")
	}
}

// TestEveryDeleteCancelsAFetchAndFreesItsSlot: with one fetch per account,
// deleting the fetching request (by IPFS.NINJA's DELETE /pins/{cid} or the
// PSA's DELETE) starts the next queued one at once, not after the timeout.
func TestEveryDeleteCancelsAFetchAndFreesItsSlot(t *testing.T) {
	for _, how := range []string{"DELETE /pins/{cid}", "DELETE /psa/pins/{requestid}"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t, withFetch(pinning.FetchConfig{Timeout: time.Minute, MaxPerAccount: 1}))
			peer := newPeer(t) // never dialled: both fetches hang until cancelled
			first := addFile(t, peer, []byte("first "+how))
			second := addFile(t, peer, []byte("second "+how))
			id1 := e.psaAdd(e.key, map[string]any{"cid": first.String()}).json(t)["requestid"].(string)
			id2 := e.psaAdd(e.key, map[string]any{"cid": second.String()}).json(t)["requestid"].(string)
			waitFor(t, 5*time.Second, func() bool { return e.get("/psa/pins/"+id1, e.key).json(t)["status"] == "pinning" })
			if st := e.get("/psa/pins/"+id2, e.key).json(t)["status"]; st != "queued" {
				t.Fatalf("second request is %v while the first fetches, want queued", st)
			}
			path := "/pins/" + first.String()
			if how == "DELETE /psa/pins/{requestid}" {
				path = "/psa/pins/" + id1
			}
			if r := e.do("DELETE", path, map[string]string{"X-Api-Key": e.key}, nil); r.status >= 300 {
				t.Fatalf("%s: %d %s", how, r.status, r.body)
			}
			start := time.Now()
			waitFor(t, 5*time.Second, func() bool { return e.get("/psa/pins/"+id2, e.key).json(t)["status"] == "pinning" })
			t.Logf("the queued request started %v after the delete", time.Since(start))
			if q, r := e.svc.QueueStats(); q != 0 || r != 1 {
				t.Errorf("queue after the delete: %d queued, %d running; want 0 and 1", q, r)
			}
		})
	}
}

// waitFor polls cond until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEveryPinByCIDValidatesItsOrigins: IPFS.NINJA's POST /pin and the
// PSA's POST /psa/pins refuse the same bad origins, recording nothing.
func TestEveryPinByCIDValidatesItsOrigins(t *testing.T) {
	e := newEnv(t)
	c := "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
	for _, path := range []string{"/pin", "/psa/pins"} {
		for _, origin := range []string{"not-a-multiaddr", "/ip4/1.2.3.4/tcp/notaport"} {
			r := e.postJSON(path, e.key, map[string]any{"cid": c, "origins": []string{origin}})
			if r.status != 400 || r.reason(t) != "BAD_REQUEST" || !strings.Contains(string(r.body), "origin") {
				t.Errorf("%s with origin %q: %d %s, want 400 naming the origin", path, origin, r.status, r.body)
			}
		}
	}
	if _, n, _ := e.store.ListPins(e.acct.ID, store.PinFilter{}); n != 0 {
		t.Fatalf("%d pin records written by refused requests", n)
	}
}

// TestPinOriginsCannotReachIntoPrivateNetworks: a public server refuses
// origins on loopback, private, link-local and metadata addresses (and
// names for this host) before anything is queued.
func TestPinOriginsCannotReachIntoPrivateNetworks(t *testing.T) {
	e := newEnv(t, func(o *app.Options) { o.Node.AllowPrivatePeers = false })
	peer := newPeer(t)
	c := addFile(t, peer, []byte("only on loopback"))
	pid := strings.TrimPrefix(peer.Addrs()[0][strings.LastIndex(peer.Addrs()[0], "/p2p/"):], "/p2p/")
	for _, origin := range []string{
		peer.Addrs()[0],
		"/ip6/::1/tcp/4001/p2p/" + pid,
		"/dns4/localhost/tcp/4001/p2p/" + pid,
		"/ip4/10.0.0.5/tcp/4001/p2p/" + pid,
		"/ip4/169.254.169.254/tcp/80/p2p/" + pid,
		"/ip4/100.64.0.1/tcp/4001/p2p/" + pid,
		"/ip6/fe80::1/tcp/4001/p2p/" + pid,
	} {
		r := e.psaAdd(e.key, map[string]any{"cid": c.String(), "origins": []string{origin}})
		if r.status != 400 || r.reason(t) != "BAD_REQUEST" {
			t.Errorf("origin %s: %d %s, want 400", origin, r.status, r.body)
		}
	}
	if _, n, _ := e.store.ListPins(e.acct.ID, store.PinFilter{}); n != 0 {
		t.Fatalf("%d pin requests recorded with private origins", n)
	}
}

func TestAnUploadsNameDescriptionAndMetadataCanBeSeenAndEdited(t *testing.T) {
	e := newEnv(t)
	r := e.upload(e.key, "", [][2]string{{"description", "first"}, {"metadata", `{"a":"1"}`}}, filePart{name: "a.txt", data: []byte("edit me")})
	c := r.json(t)["cid"].(string)
	pins, _ := e.store.PinsByCID(e.acct.ID, c)
	id := pins[0].ID
	patch := func(body string, key string) response {
		return e.do("PATCH", "/uploads/"+id, map[string]string{"X-Api-Key": key, "Content-Type": "application/json"}, strings.NewReader(body))
	}
	if r := patch(`{"name":"renamed.txt","metadata":{"b":"2"}}`, e.key); r.status != 200 {
		t.Fatalf("PATCH: %d %s", r.status, r.body)
	}
	got := e.get("/uploads/"+id, e.key).json(t)
	if got["name"] != "renamed.txt" || got["description"] != "first" || fmt.Sprint(got["metadata"]) != "map[b:2]" {
		t.Fatalf("after PATCH: %v", got)
	}
	// The indexes follow: the new name finds it, the old does not.
	if n := e.get("/psa/pins?name=renamed.txt", e.key).json(t)["count"]; n != float64(1) {
		t.Errorf("the new name finds %v pins", n)
	}
	if n := e.get("/psa/pins?name=a.txt", e.key).json(t)["count"]; n != float64(0) {
		t.Errorf("the old name still finds %v pins", n)
	}
	if r := patch(`{"name":"`+strings.Repeat("n", 256)+`"}`, e.key); r.status != 400 {
		t.Errorf("a 256-byte name: %d", r.status)
	}
	readOnly := e.mintKey(e.acct.ID, token.ScopePinsRead)
	if r := patch(`{"name":"x"}`, readOnly); r.status != 403 {
		t.Errorf("PATCH with pins:read only: %d", r.status)
	}
	other, _ := e.store.CreateAccount("other")
	if r := e.get("/uploads/"+id, e.mintKey(other.ID, token.ScopePinsRead)); r.status != 404 {
		t.Errorf("another account reads the upload: %d", r.status)
	}
}
