package server_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/boxo/ipns"
	"github.com/ipfs/boxo/path"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// uploadFile uploads data with key and returns its CID.
func (e *env) uploadFile(key string, data []byte) string {
	e.t.Helper()
	r := e.upload(key, "", nil, filePart{name: "f.txt", data: data, typ: "text/plain"})
	if r.status != 200 && r.status != 201 {
		e.t.Fatalf("upload: %d %s", r.status, r.body)
	}
	return r.json(e.t)["cid"].(string)
}

// createName makes a name with key and returns its IPNS name.
func (e *env) createName(key, label string) string {
	e.t.Helper()
	r := e.postJSON("/names", key, map[string]any{"name": label})
	if r.status != 201 {
		e.t.Fatalf("POST /names: %d %s", r.status, r.body)
	}
	return r.json(e.t)["ipnsName"].(string)
}

func (e *env) storedName(name string) store.Name {
	e.t.Helper()
	n, err := e.store.NameOf("", name)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// checkRecord verifies a record with boxo's ipns package, as any
// resolver would, and returns its value and sequence.
func checkRecord(t *testing.T, name string, raw []byte) (string, uint64, time.Time) {
	t.Helper()
	n, err := ipns.NameFromString(name)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := ipns.UnmarshalRecord(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := ipns.ValidateWithName(rec, n); err != nil {
		t.Fatalf("record does not validate: %v", err)
	}
	v, _ := rec.Value()
	seq, _ := rec.Sequence()
	eol, _ := rec.Validity()
	return v.String(), seq, eol
}

func TestNamesCreatePublishListDelete(t *testing.T) {
	e := newEnv(t)
	c := e.uploadFile(e.admin, []byte("version one"))
	name := e.createName(e.admin, "blog")
	if !strings.HasPrefix(name, "k51") {
		t.Fatalf("ipnsName %q is not a base36 libp2p-key CID", name)
	}
	if r := e.postJSON("/names", e.admin, map[string]any{"name": "blog"}); r.status != 409 {
		t.Fatalf("a second name blog: %d %s", r.status, r.body)
	}

	r := e.postJSON("/names/blog", e.admin, map[string]any{"value": c})
	if r.status != 200 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	got := r.json(t)
	if got["value"] != "/ipfs/"+c || got["sequence"].(float64) != 0 || got["ipnsName"] != name {
		t.Fatalf("publish answered %v", got)
	}
	v, seq, eol := checkRecord(t, name, e.storedName(name).Record)
	if v != "/ipfs/"+c || seq != 0 {
		t.Fatalf("record says %s seq %d", v, seq)
	}
	if d := time.Until(eol); d < 47*time.Hour || d > 49*time.Hour {
		t.Fatalf("default lifetime: record ends in %v, want 48h", d)
	}

	// A new version at an explicit sequence, a lifetime of an hour, a path.
	c2 := e.uploadFile(e.admin, []byte("version two"))
	r = e.postJSON("/names/"+name, e.admin, map[string]any{"value": "/ipfs/" + c2, "sequence": 5, "lifetime": "1h"})
	if r.status != 200 {
		t.Fatalf("publish seq 5: %d %s", r.status, r.body)
	}
	v, seq, eol = checkRecord(t, name, e.storedName(name).Record)
	if v != "/ipfs/"+c2 || seq != 5 || time.Until(eol) > time.Hour+time.Minute {
		t.Fatalf("record says %s seq %d until %v", v, seq, eol)
	}
	// Without a sequence, the next one.
	if r = e.postJSON("/names/blog", e.admin, map[string]any{"value": c2}); r.status != 200 || r.json(t)["sequence"].(float64) != 6 {
		t.Fatalf("publish without sequence: %d %s", r.status, r.body)
	}

	r = e.get("/names", e.admin)
	list := r.jsonArray(t)
	if r.status != 200 || len(list) != 1 || list[0]["ipnsName"] != name || list[0]["name"] != "blog" {
		t.Fatalf("GET /names: %d %s", r.status, r.body)
	}
	if _, ok := list[0]["key"]; ok {
		t.Fatal("the listing shows the key")
	}
	if r = e.get("/names/blog", e.admin); r.status != 200 || r.json(t)["sequence"].(float64) != 6 {
		t.Fatalf("GET /names/blog: %d %s", r.status, r.body)
	}
	if r = e.do("DELETE", "/names/blog", map[string]string{"X-Api-Key": e.admin}, nil); r.status != 200 {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	if r = e.get("/names/"+name, e.admin); r.status != 404 {
		t.Fatalf("GET after DELETE: %d %s", r.status, r.body)
	}
	if r = e.get("/ipns/"+name, ""); r.status != 404 {
		t.Fatalf("gateway after DELETE: %d %s", r.status, r.body)
	}
}

func TestNamesListPages(t *testing.T) {
	e := newEnv(t)
	for _, l := range []string{"a", "b", "c"} {
		e.createName(e.admin, l)
	}
	r := e.get("/names?limit=2", e.admin)
	if r.status != 200 || len(r.jsonArray(t)) != 2 {
		t.Fatalf("first page: %d %s", r.status, r.body)
	}
	next := r.header.Get("X-Next-Cursor")
	if next == "" {
		t.Fatal("no X-Next-Cursor on a full first page")
	}
	r = e.get("/names?limit=2&cursor="+next, e.admin)
	if l := r.jsonArray(t); r.status != 200 || len(l) != 1 || l[0]["name"] != "a" {
		t.Fatalf("second page: %d %s", r.status, r.body)
	}
}

// TestNamePublishRefusals: every refusal is a clear error and leaves the
// stored record exactly as it was.
func TestNamePublishRefusals(t *testing.T) {
	e := newEnv(t)
	c := e.uploadFile(e.admin, []byte("content"))
	name := e.createName(e.admin, "site")
	if r := e.postJSON("/names/site", e.admin, map[string]any{"value": c, "sequence": 3}); r.status != 200 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	before := e.storedName(name)
	other, err := e.store.CreateAccount("other")
	if err != nil {
		t.Fatal(err)
	}
	otherAdmin := e.mintKey(other.ID, token.ScopeAdmin)
	cases := []struct {
		name   string
		key    string
		path   string
		body   map[string]any
		status int
		reason string
	}{
		{"a name of another account is not found", otherAdmin, "/names/" + name, map[string]any{"value": c, "sequence": 9}, 404, "NOT_FOUND"},
		{"a key without scope names is forbidden", e.key, "/names/site", map[string]any{"value": c, "sequence": 9}, 403, "FORBIDDEN"},
		{"a sequence equal to the current one is stale", e.admin, "/names/site", map[string]any{"value": c, "sequence": 3}, 409, "CONFLICT"},
		{"a lower sequence is stale", e.admin, "/names/site", map[string]any{"value": c, "sequence": 1}, 409, "CONFLICT"},
		{"a value that is not a path", e.admin, "/names/site", map[string]any{"value": "hello"}, 400, "BAD_REQUEST"},
		{"a CID not stored here", e.admin, "/names/site", map[string]any{"value": "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"}, 400, "BAD_REQUEST"},
		{"a lifetime over the bound", e.admin, "/names/site", map[string]any{"value": c, "lifetime": "9000h"}, 400, "BAD_REQUEST"},
		{"no value", e.admin, "/names/site", map[string]any{}, 400, "BAD_REQUEST"},
		{"an unknown name", e.admin, "/names/nope", map[string]any{"value": c}, 404, "NOT_FOUND"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.postJSON(tc.path, tc.key, tc.body)
			if r.status != tc.status || r.reason(t) != tc.reason {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, tc.status, tc.reason)
			}
			after := e.storedName(name)
			if !bytes.Equal(after.Record, before.Record) || after.Sequence != before.Sequence || after.Value != before.Value {
				t.Fatal("the refusal changed the record")
			}
		})
	}
	// The other account sees none of it, and cannot delete it.
	if r := e.do("DELETE", "/names/"+name, map[string]string{"X-Api-Key": otherAdmin}, nil); r.status != 404 {
		t.Fatalf("DELETE by another account: %d %s", r.status, r.body)
	}
	if r := e.get("/names", otherAdmin); r.status != 200 || len(r.jsonArray(t)) != 0 {
		t.Fatalf("another account's list: %d %s", r.status, r.body)
	}
}

// TestPublishNameScope: an upload token or access JWT bound to one name
// uploads a new version and moves that name, without the API key, and
// can do nothing else with names.
func TestPublishNameScope(t *testing.T) {
	e := newEnv(t)
	name := e.createName(e.admin, "profile")
	e.createName(e.admin, "other")
	r := e.postJSON("/upload-tokens", e.admin, map[string]any{"expiresIn": "1h", "publishName": "profile"})
	if r.status != 201 || r.json(t)["publishName"] != name {
		t.Fatalf("mint: %d %s", r.status, r.body)
	}
	tok := r.json(t)["token"].(string)
	signed := func(method, path string, body any) response {
		return e.do(method, path, map[string]string{"Authorization": "Signed " + tok, "Content-Type": "application/json"},
			strings.NewReader(mustJSON(body)))
	}
	ct, body := multipartBody(t, nil, filePart{name: "p.json", data: []byte(`{"v":2}`), typ: "application/json"})
	up := e.do("POST", "/upload", map[string]string{"Authorization": "Signed " + tok, "Content-Type": ct}, bytes.NewReader(body))
	if up.status != 200 {
		t.Fatalf("token upload: %d %s", up.status, up.body)
	}
	c := up.json(t)["cid"].(string)
	if r = signed("POST", "/names/profile", map[string]any{"value": c}); r.status != 200 {
		t.Fatalf("token publish: %d %s", r.status, r.body)
	}
	if v, _, _ := checkRecord(t, name, e.storedName(name).Record); v != "/ipfs/"+c {
		t.Fatalf("record says %s", v)
	}
	otherBefore, _ := e.store.NameOf(e.acct.ID, "other")
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"POST", "/names/other", 403},
		{"GET", "/names", 403},
		{"DELETE", "/names/profile", 403},
		{"POST", "/names", 403},
	} {
		r := signed(tc.method, tc.path, map[string]any{"value": c, "name": "x"})
		if r.status != tc.status || r.reason(t) != "FORBIDDEN" {
			t.Fatalf("%s %s with the bound token: %d %s", tc.method, tc.path, r.status, r.body)
		}
	}
	if after, _ := e.store.NameOf(e.acct.ID, "other"); !bytes.Equal(after.Record, otherBefore.Record) {
		t.Fatal("the refused publish changed the other name")
	}
	if _, err := e.store.NameOf(e.acct.ID, "profile"); err != nil {
		t.Fatal("the refused delete deleted the name")
	}

	// A key without scope names cannot hand out the right to publish.
	if r = e.postJSON("/upload-tokens", e.key, map[string]any{"expiresIn": "1h", "publishName": "profile"}); r.status != 403 {
		t.Fatalf("mint by a key without names: %d %s", r.status, r.body)
	}
	// Nor bind a name of another account (or one that does not exist).
	if r = e.postJSON("/upload-tokens", e.admin, map[string]any{"expiresIn": "1h", "publishName": "nope"}); r.status != 404 {
		t.Fatalf("mint for an unknown name: %d %s", r.status, r.body)
	}

	// An access JWT with scope upload, bound to the name.
	r = e.postJSON("/auth/jwt", e.admin, map[string]any{"name": "browser", "scopes": []string{"upload"}, "expiresIn": "1h", "publishName": name})
	if r.status != 201 || r.json(t)["publishName"] != name {
		t.Fatalf("jwt: %d %s", r.status, r.body)
	}
	jwt := r.json(t)["token"].(string)
	r = e.do("POST", "/names/"+name, map[string]string{"Authorization": "Bearer " + jwt, "Content-Type": "application/json"},
		strings.NewReader(mustJSON(map[string]any{"value": c, "sequence": 7})))
	if r.status != 200 || r.json(t)["sequence"].(float64) != 7 {
		t.Fatalf("jwt publish: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/names/other", map[string]string{"Authorization": "Bearer " + jwt, "Content-Type": "application/json"},
		strings.NewReader(mustJSON(map[string]any{"value": c})))
	if r.status != 403 {
		t.Fatalf("jwt publish to another name: %d %s", r.status, r.body)
	}
}

// TestNameGateway: the gateway resolves a name held here to its record's
// value, serves the record itself for trustless clients, and resolves no
// other name.
func TestNameGateway(t *testing.T) {
	e := newEnv(t)
	c := e.uploadFile(e.admin, []byte("hello from a name"))
	name := e.createName(e.admin, "n")
	if r := e.postJSON("/names/n", e.admin, map[string]any{"value": c}); r.status != 200 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	r := e.get("/ipns/"+name, "")
	if r.status != 200 || string(r.body) != "hello from a name" {
		t.Fatalf("GET /ipns/name: %d %s", r.status, r.body)
	}
	r = e.get("/ipns/"+name+"?format=ipns-record", "")
	if r.status != 200 || r.header.Get("Content-Type") != "application/vnd.ipfs.ipns-record" {
		t.Fatalf("ipns-record: %d %v %s", r.status, r.header, r.body)
	}
	if v, _, _ := checkRecord(t, name, r.body); v != "/ipfs/"+c {
		t.Fatalf("served record says %s", v)
	}
	// A valid name this server does not hold, and a domain that is no
	// DNSLink domain: never looked up.
	sk, _, _ := crypto.GenerateEd25519Key(nil)
	pid, _ := peer.IDFromPrivateKey(sk)
	for _, p := range []string{"/ipns/" + ipns.NameFromPeer(pid).String(), "/ipns/example.com"} {
		if r := e.get(p, ""); r.status != 404 {
			t.Fatalf("GET %s: %d %s", p, r.status, r.body)
		}
	}
}

// externalKey makes a key the test holds, as an app that signs its own
// records would.
func externalKey(t *testing.T) (crypto.PrivKey, string) {
	t.Helper()
	sk, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	return sk, ipns.NameFromPeer(pid).String()
}

func signedRecord(t *testing.T, sk crypto.PrivKey, value string, seq uint64, eol time.Time) []byte {
	t.Helper()
	p, err := path.NewPath(value)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := ipns.NewRecord(sk, p, seq, eol, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ipns.MarshalRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *env) putRecord(name string, rec []byte) response {
	e.t.Helper()
	return e.do("PUT", "/routing/v1/ipns/"+name, map[string]string{"Content-Type": "application/vnd.ipfs.ipns-record"}, bytes.NewReader(rec))
}

// TestDelegatedRouting: GET serves the records held here; PUT keeps a
// validly signed record only for a name an account registered, only with
// a higher sequence; every refusal leaves the record as it was.
func TestDelegatedRouting(t *testing.T) {
	e := newEnv(t)
	c := e.uploadFile(e.admin, []byte("routed"))
	held := e.createName(e.admin, "held")
	if r := e.postJSON("/names/held", e.admin, map[string]any{"value": c}); r.status != 200 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	r := e.do("GET", "/routing/v1/ipns/"+held, map[string]string{"Accept": "application/vnd.ipfs.ipns-record"}, nil)
	if r.status != 200 || !bytes.Equal(r.body, e.storedName(held).Record) {
		t.Fatalf("GET routing: %d %q", r.status, r.body)
	}

	// An app registers a name whose key it keeps, then PUTs records.
	sk, ext := externalKey(t)
	if r = e.postJSON("/names", e.admin, map[string]any{"name": "app", "ipnsName": ext}); r.status != 201 || r.json(t)["external"] != true {
		t.Fatalf("register external: %d %s", r.status, r.body)
	}
	if r = e.putRecord(ext, signedRecord(t, sk, "/ipfs/"+c, 2, time.Now().Add(time.Hour))); r.status != 200 {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	if r = e.get("/ipns/"+ext, ""); r.status != 200 || string(r.body) != "routed" {
		t.Fatalf("gateway on the PUT record: %d %s", r.status, r.body)
	}
	// ninja cannot publish to a name whose key it does not hold.
	if r = e.postJSON("/names/app", e.admin, map[string]any{"value": c}); r.status != 409 {
		t.Fatalf("publish to an external name: %d %s", r.status, r.body)
	}
	before := e.storedName(ext)

	stranger, strangerName := externalKey(t)
	otherSK, _ := externalKey(t)
	cases := []struct {
		name   string
		ipns   string
		rec    []byte
		status int
	}{
		{"a stale sequence", ext, signedRecord(t, sk, "/ipfs/"+c, 2, time.Now().Add(time.Hour)), 409},
		{"an expired record", ext, signedRecord(t, sk, "/ipfs/"+c, 3, time.Now().Add(-time.Minute)), 400},
		{"a malformed record", ext, []byte("not a record"), 400},
		{"a record signed by another key", ext, signedRecord(t, otherSK, "/ipfs/"+c, 9, time.Now().Add(time.Hour)), 400},
		{"a name no account registered", strangerName, signedRecord(t, stranger, "/ipfs/"+c, 1, time.Now().Add(time.Hour)), 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.putRecord(tc.ipns, tc.rec)
			if r.status != tc.status {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tc.status)
			}
			if after := e.storedName(ext); !bytes.Equal(after.Record, before.Record) {
				t.Fatal("the refusal changed the record")
			}
		})
	}
	if _, err := e.store.NameOf("", strangerName); err == nil {
		t.Fatal("a PUT for an unregistered name stored it")
	}
	// A higher sequence is kept.
	if r = e.putRecord(ext, signedRecord(t, sk, "/ipfs/"+c, 3, time.Now().Add(time.Hour))); r.status != 200 || e.storedName(ext).Sequence != 3 {
		t.Fatalf("PUT seq 3: %d %s", r.status, r.body)
	}
}

func TestRepublishResignsBeforeExpiry(t *testing.T) {
	e := newEnv(t)
	c := e.uploadFile(e.admin, []byte("republished"))
	name := e.createName(e.admin, "r")
	if r := e.postJSON("/names/r", e.admin, map[string]any{"value": c, "lifetime": "2h", "sequence": 4}); r.status != 200 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	before := e.storedName(name)
	n, err := e.svc.Republish(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("Republish: %d %v", n, err)
	}
	after := e.storedName(name)
	v, seq, eol := checkRecord(t, name, after.Record)
	if v != "/ipfs/"+c || seq != 4 || !eol.After(before.Validity) {
		t.Fatalf("republished record: %s seq %d until %v (was %v)", v, seq, eol, before.Validity)
	}
}

// TestABrowserMayPublishAndPutAcrossOrigins: the preflights of a page's
// publish (POST /names/{name} with a token) and of a record PUT are
// answered for the configured origins (any, by default).
func TestABrowserMayPublishAndPutAcrossOrigins(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ path, method, headers string }{
		{"/names/blog", "POST", "Authorization"},
		{"/routing/v1/ipns/k51qzi5uqu5dhay6uiwm8kleepxzba4cgkabqgi08iwy2p9snay5kk2f0kqumh", "PUT", "Content-Type"},
	} {
		r := e.do("OPTIONS", tc.path, map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": tc.method}, nil)
		if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
			!strings.Contains(r.header.Get("Access-Control-Allow-Methods"), tc.method) ||
			!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), tc.headers) {
			t.Fatalf("preflight %s %s: %d %v", tc.method, tc.path, r.status, r.header)
		}
	}
}

// A name held here whose record has expired (its publisher's lifetime
// ran out with no republish, as after a long outage) is a clear 404 at
// the gateway, not a resolver error, and nothing about it changes.
func TestAnExpiredNameIsNotServed(t *testing.T) {
	e := newEnv(t)
	c := e.uploadFile(e.admin, []byte("once named"))
	name := e.createName(e.admin, "old")
	if r := e.postJSON("/names/old", e.admin, map[string]any{"value": c}); r.status != 200 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	past := time.Now().Add(-time.Hour)
	_, err := e.store.UpdateName("", name, func(n *store.Name) error {
		rec, err := node.SignRecord(n.Key, "/ipfs/"+c, n.Sequence, past, time.Minute)
		n.Record, n.Validity = rec, past
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	before := e.storedName(name)
	for _, p := range []string{"/ipns/" + name, "/ipns/" + name + "?format=ipns-record"} {
		r := e.get(p, "")
		if r.status != 404 || r.reason(t) != "NOT_FOUND" || !strings.Contains(string(r.body), "expired") {
			t.Errorf("GET %s with an expired record: %d %s", p, r.status, r.body)
		}
	}
	if after := e.storedName(name); !bytes.Equal(after.Record, before.Record) {
		t.Error("serving the expired name changed its record")
	}
}
