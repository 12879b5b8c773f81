package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	pinclient "github.com/ipfs/boxo/pinning/remote/client"
	"github.com/ipfs/go-cid"

	"github.com/ninja-ipfs/ninja/node"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/store"
	"github.com/ninja-ipfs/ninja/token"
)

// peer is a second IPFS node on loopback holding content to pin.
func newPeer(t *testing.T) *node.Node {
	t.Helper()
	n, err := node.New(context.Background(), node.Config{DataDir: t.TempDir(), ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, Offline: true, AllowPrivatePeers: true, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.Close(ctx)
	})
	return n
}

// addFile imports data into n and returns its CID.
func addFile(t *testing.T, n *node.Node, data []byte) cid.Cid {
	t.Helper()
	ctx := context.Background()
	im := n.NewImport(node.ProfileV1)
	defer im.Release()
	c, _, err := im.AddFile(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := im.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// uploadCID uploads data through the API and returns its CID.
func (e *env) uploadCID(key string, data []byte) string {
	e.t.Helper()
	res := e.upload(key, "", nil, filePart{name: "f.bin", data: data})
	if res.status != http.StatusOK {
		e.t.Fatalf("upload: %d %s", res.status, res.body)
	}
	return res.json(e.t)["cid"].(string)
}

// waitStatus polls GET /psa/pins/{id} until the status is final or the
// deadline passes, and returns the last answer.
func (e *env) waitStatus(key, id string, within time.Duration) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		res := e.get("/psa/pins/"+id, key)
		if res.status != http.StatusOK {
			e.t.Fatalf("GET /psa/pins/%s: %d %s", id, res.status, res.body)
		}
		m := res.json(e.t)
		if st := m["status"]; st == "pinned" || st == "failed" || time.Now().After(deadline) {
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) psaAdd(key string, body any) response {
	e.t.Helper()
	return e.do("POST", "/psa/pins", map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"},
		strings.NewReader(mustJSON(body)))
}

// TestPSAConformanceWithBoxoClient drives /psa with the Pinning Service API
// client Kubo itself uses.
func TestPSAConformanceWithBoxoClient(t *testing.T) {
	pe := newEnv(t, withFetch(pinning.FetchConfig{Timeout: 5 * time.Second}))
	ctx := context.Background()
	c := pinclient.NewClient(pe.http.URL+"/psa", pe.key)

	var cids []cid.Cid
	for i := range 5 {
		cids = append(cids, cid.MustParse(pe.uploadCID(pe.key, fmt.Appendf(nil, "file %d", i))))
	}

	// Add: content held locally is pinned at once, with its DAG size.
	st, err := c.Add(ctx, cids[0], pinclient.PinOpts.WithName("first.txt"), pinclient.PinOpts.AddMeta(map[string]string{"app": "demo"}))
	if err != nil {
		t.Fatal(err)
	}
	if st.GetStatus() != pinclient.StatusPinned || !st.GetPin().GetCid().Equals(cids[0]) || st.GetPin().GetName() != "first.txt" {
		t.Fatalf("add answered %s", st)
	}
	if st.GetInfo()["dag_size"] != "6" {
		t.Errorf("info.dag_size = %q, want 6", st.GetInfo()["dag_size"])
	}
	if len(st.GetDelegates()) == 0 || !strings.Contains(st.GetDelegates()[0].String(), "/p2p/"+pe.node.PeerID()) {
		t.Errorf("delegates = %v, want this node's multiaddrs", st.GetDelegates())
	}

	// Pinning the same CID again gives another request id.
	again, err := c.Add(ctx, cids[0])
	if err != nil {
		t.Fatal(err)
	}
	if again.GetRequestId() == st.GetRequestId() {
		t.Errorf("two pins of one CID share request id %s", st.GetRequestId())
	}

	got, err := c.GetStatusByID(ctx, st.GetRequestId())
	if err != nil {
		t.Fatal(err)
	}
	if got.GetRequestId() != st.GetRequestId() || got.GetPin().GetMeta()["app"] != "demo" || !got.GetCreated().Equal(st.GetCreated()) {
		t.Errorf("get by id answered %s", got)
	}

	// Ls pages through every pinned object (5 uploads + 2 pins) newest
	// first, two at a time, with the before cursor.
	all, err := c.LsSync(ctx, pinclient.PinOpts.Limit(2))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 7 {
		t.Fatalf("ls listed %d pin objects, want 7", len(all))
	}
	for i := 1; i < len(all); i++ {
		if !all[i].GetCreated().Before(all[i-1].GetCreated()) {
			t.Fatalf("ls is not newest first at %d: %s then %s", i, all[i-1].GetCreated(), all[i].GetCreated())
		}
	}
	byCID, err := c.LsSync(ctx, pinclient.PinOpts.FilterCIDs(cids[0], cids[1]))
	if err != nil {
		t.Fatal(err)
	}
	if len(byCID) != 4 {
		t.Errorf("ls filtered by 2 CIDs listed %d, want 4 (2 uploads, 2 pins)", len(byCID))
	}
	byName, err := c.LsSync(ctx, pinclient.PinOpts.FilterName("first.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(byName) != 1 || byName[0].GetRequestId() != st.GetRequestId() {
		t.Errorf("ls by name listed %v", byName)
	}

	// Replace points the request at another CID under a new id; the old
	// id is gone.
	rep, err := c.Replace(ctx, st.GetRequestId(), cids[1])
	if err != nil {
		t.Fatal(err)
	}
	if rep.GetRequestId() == st.GetRequestId() || !rep.GetPin().GetCid().Equals(cids[1]) {
		t.Errorf("replace answered %s", rep)
	}
	if _, err := c.GetStatusByID(ctx, st.GetRequestId()); err == nil || !strings.Contains(err.Error(), "NOT_FOUND") {
		t.Errorf("replaced request still answers: %v", err)
	}

	// Delete removes the request.
	if err := c.DeleteByID(ctx, rep.GetRequestId()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetStatusByID(ctx, rep.GetRequestId()); err == nil {
		t.Error("deleted request still answers")
	}
	if n, _ := pe.store.RefCount(cids[1].String()); n != 1 {
		t.Errorf("refcount of %s = %d after deleting the pin, want 1 (its upload)", cids[1], n)
	}
}

func TestPSAErrorsUseTheFailureShape(t *testing.T) {
	pe := newEnv(t, withFetch(pinning.FetchConfig{Timeout: 5 * time.Second}))
	other, err := pe.store.CreateAccount("other")
	if err != nil {
		t.Fatal(err)
	}
	otherKey := pe.mintKey(other.ID, token.ScopePinsRead, token.ScopePinsWrite)
	uploadOnly := pe.mintKey(pe.acct.ID, token.ScopeUpload)
	readOnly := pe.mintKey(pe.acct.ID, token.ScopePinsRead)
	c := pe.uploadCID(pe.key, []byte("hello"))
	mine := pe.psaAdd(pe.key, map[string]any{"cid": c}).json(t)["requestid"].(string)
	elevenCIDs := strings.TrimSuffix(strings.Repeat(c+",", 11), ",")

	tests := []struct {
		name, method, path, key, body string
		status                        int
		reason                        string
	}{
		{"a request without a key is unauthorized", "GET", "/psa/pins", "", "", 401, "UNAUTHORIZED"},
		{"an upload-only key may not list pins", "GET", "/psa/pins", uploadOnly, "", 403, "FORBIDDEN"},
		{"a read-only key may not add a pin", "POST", "/psa/pins", readOnly, `{"cid":"` + c + `"}`, 403, "FORBIDDEN"},
		{"an invalid CID is refused", "POST", "/psa/pins", pe.key, `{"cid":"not-a-cid"}`, 400, "INVALID_CID"},
		{"a missing CID is refused", "POST", "/psa/pins", pe.key, `{"name":"x"}`, 400, "INVALID_CID"},
		{"a body that is not JSON is refused", "POST", "/psa/pins", pe.key, `{`, 400, "BAD_REQUEST"},
		{"more than 20 origins are refused", "POST", "/psa/pins", pe.key, `{"cid":"` + c + `","origins":[` + strings.TrimSuffix(strings.Repeat(`"/ip4/127.0.0.1/tcp/1",`, 21), ",") + `]}`, 400, "BAD_REQUEST"},
		{"limit 0 is refused", "GET", "/psa/pins?limit=0", pe.key, "", 400, "BAD_REQUEST"},
		{"limit 1001 is refused", "GET", "/psa/pins?limit=1001", pe.key, "", 400, "BAD_REQUEST"},
		{"an unknown status is refused", "GET", "/psa/pins?status=done", pe.key, "", 400, "BAD_REQUEST"},
		{"an unknown match is refused", "GET", "/psa/pins?name=a&match=regex", pe.key, "", 400, "BAD_REQUEST"},
		{"more than 10 CIDs are refused", "GET", "/psa/pins?cid=" + elevenCIDs, pe.key, "", 400, "BAD_REQUEST"},
		{"meta that is not a JSON object is refused", "GET", "/psa/pins?meta=" + url.QueryEscape("map[a:b]"), pe.key, "", 400, "BAD_REQUEST"},
		{"a before that is not a date-time is refused", "GET", "/psa/pins?before=yesterday", pe.key, "", 400, "BAD_REQUEST"},
		{"an unknown request id is not found", "GET", "/psa/pins/pin_0000000000000000", pe.key, "", 404, "NOT_FOUND"},
		{"another account's request is not found", "GET", "/psa/pins/" + mine, otherKey, "", 404, "NOT_FOUND"},
		{"another account cannot delete a request", "DELETE", "/psa/pins/" + mine, otherKey, "", 404, "NOT_FOUND"},
		{"another account cannot replace a request", "POST", "/psa/pins/" + mine, otherKey, `{"cid":"` + c + `"}`, 404, "NOT_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{"Content-Type": "application/json"}
			if tt.key != "" {
				h["Authorization"] = "Bearer " + tt.key
			}
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			res := pe.do(tt.method, tt.path, h, body)
			if res.status != tt.status || res.reason(t) != tt.reason {
				t.Errorf("got %d %s, want %d %s", res.status, res.body, tt.status, tt.reason)
			}
		})
	}
	// The refused requests wrote nothing: the account still has its one
	// upload and one pin request, and the other account has none.
	if _, n, _ := pe.store.ListPins(pe.acct.ID, store.PinFilter{}); n != 2 {
		t.Errorf("account has %d pin records, want 2", n)
	}
	if _, n, _ := pe.store.ListPins(other.ID, store.PinFilter{}); n != 0 {
		t.Errorf("other account has %d pin records, want 0", n)
	}
}

func TestPSAFilters(t *testing.T) {
	pe := newEnv(t, withFetch(pinning.FetchConfig{Timeout: 5 * time.Second}))
	c := pe.uploadCID(pe.key, []byte("filtered"))
	ids := map[string]string{}
	for _, p := range []struct{ name, app string }{{"Report.pdf", "a"}, {"report-2.pdf", "b"}, {"photo.jpg", "a"}} {
		res := pe.psaAdd(pe.key, map[string]any{"cid": c, "name": p.name, "meta": map[string]string{"app": p.app}})
		if res.status != http.StatusAccepted {
			t.Fatalf("add: %d %s", res.status, res.body)
		}
		ids[p.name] = res.json(t)["requestid"].(string)
	}
	report := ids["Report.pdf"]
	created := pe.get("/psa/pins/"+report, pe.key).json(t)["created"].(string)

	tests := []struct {
		name  string
		query string
		want  []string // pin names, newest first ("" is the upload's name f.bin)
		count int
	}{
		{"no filter lists pinned objects newest first", "", []string{"photo.jpg", "report-2.pdf", "Report.pdf", "f.bin"}, 4},
		{"limit cuts the page but count is the total", "limit=1", []string{"photo.jpg"}, 4},
		{"exact name match is case-sensitive", "name=report.pdf", nil, 0},
		{"iexact ignores case", "name=report.pdf&match=iexact", []string{"Report.pdf"}, 1},
		{"partial matches anywhere, case-sensitive", "name=port&match=partial", []string{"report-2.pdf", "Report.pdf"}, 2},
		{"ipartial ignores case", "name=REPORT&match=ipartial", []string{"report-2.pdf", "Report.pdf"}, 2},
		{"meta matches exactly", "meta=" + url.QueryEscape(`{"app":"a"}`), []string{"photo.jpg", "Report.pdf"}, 2},
		{"before is strict", "before=" + url.QueryEscape(created), []string{"f.bin"}, 1},
		{"after is strict", "after=" + url.QueryEscape(created), []string{"photo.jpg", "report-2.pdf"}, 2},
		{"status failed lists no pinned object", "status=failed", nil, 0},
		{"several statuses are a comma list", "status=queued,pinned", []string{"photo.jpg", "report-2.pdf", "Report.pdf", "f.bin"}, 4},
		{"cid filter matches every request of the CID", "cid=" + c + "&limit=2", []string{"photo.jpg", "report-2.pdf"}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := pe.get("/psa/pins?"+tt.query, pe.key)
			if res.status != http.StatusOK {
				t.Fatalf("%d %s", res.status, res.body)
			}
			m := res.json(t)
			var names []string
			for _, r := range m["results"].([]any) {
				pin := r.(map[string]any)["pin"].(map[string]any)
				name, _ := pin["name"].(string)
				names = append(names, name)
			}
			if fmt.Sprint(names) != fmt.Sprint(tt.want) || int(m["count"].(float64)) != tt.count {
				t.Errorf("got %v count %v, want %v count %d", names, m["count"], tt.want, tt.count)
			}
		})
	}
}

func TestPSAMetaFilterReadsValuesAsCreateDoes(t *testing.T) {
	e := newEnv(t, withFetch(pinning.FetchConfig{Timeout: 5 * time.Second}))
	c := e.uploadCID(e.key, []byte("meta filter"))
	if r := e.psaAdd(e.key, map[string]any{"cid": c, "meta": map[string]any{"n": 1, "app": "x"}}); r.status != 202 {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	q := url.QueryEscape(`{"n":1}`)
	list := e.get("/psa/pins?meta="+q+"&status=queued,pinning,pinned,failed", e.key).json(t)
	if list["count"] != float64(1) {
		t.Fatalf("meta filter with a number: %v", list)
	}
}
