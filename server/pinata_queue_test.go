package server_test

import (
	"slices"
	"testing"
	"time"
)

type v3Job struct {
	ID         string            `json:"id"`
	CID        string            `json:"cid"`
	DateQueued string            `json:"date_queued"`
	Name       string            `json:"name"`
	Status     string            `json:"status"`
	Keyvalues  map[string]string `json:"keyvalues"`
	HostNodes  []string          `json:"host_nodes"`
	GroupID    *string           `json:"group_id"`
}

type v3Jobs struct {
	Jobs          []v3Job `json:"jobs"`
	NextPageToken string  `json:"next_page_token"`
}

func jobIDs(jobs []v3Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

func TestPinataPinByCIDQueuesListsAndCancels(t *testing.T) {
	e := newEnv(t)
	peer := newPeer(t)
	var group struct{ ID string }
	e.send("POST", "/v3/groups/public", e.key, map[string]any{"name": "pinned by cid"}).data(t, 200, &group)

	// A CID stored here already is pinned at once, and joins its group.
	local := e.uploadV3("local.txt", []byte("already here"))
	var done v3Job
	e.send("POST", "/v3/files/public/pin_by_cid", e.key, map[string]any{"cid": local.CID, "name": "again",
		"keyvalues": map[string]any{"via": "cid"}, "group_id": group.ID}).data(t, 200, &done)
	if done.Status != "pinned" || done.CID != local.CID || done.Name != "again" || done.Keyvalues["via"] != "cid" ||
		done.GroupID == nil || *done.GroupID != group.ID {
		t.Fatalf("pin of a local CID: %+v", done)
	}
	var inGroup v3List
	e.get("/v3/files/public?group="+group.ID, e.key).data(t, 200, &inGroup)
	if len(inGroup.Files) != 1 || inGroup.Files[0].ID != done.ID {
		t.Fatalf("the group lists %v, want the pin by CID", inGroup.Files)
	}

	// CIDs nobody serves (the peer is never dialled) stay in the queue.
	var waiting []v3Job
	for i := range 3 {
		c := addFile(t, peer, []byte{'q', byte(i)})
		var j v3Job
		e.send("POST", "/v3/files/public/pin_by_cid", e.key, map[string]any{"cid": c.String()}).data(t, 200, &j)
		if j.Status != "prechecking" || j.DateQueued == "" {
			t.Fatalf("a queued request: %+v", j)
		}
		waiting = append(waiting, j)
	}
	var q v3Jobs
	e.get("/v3/files/public/pin_by_cid", e.key).data(t, 200, &q)
	want := []string{waiting[2].ID, waiting[1].ID, waiting[0].ID}
	if !slices.Equal(jobIDs(q.Jobs), want) {
		t.Fatalf("the queue is %v, want the three requests newest first (the pinned one left it): %v", jobIDs(q.Jobs), want)
	}
	// Pages, sort, cid and status filters.
	var p1, p2 v3Jobs
	e.get("/v3/files/public/pin_by_cid?sort=ASC&limit=2", e.key).data(t, 200, &p1)
	e.get("/v3/files/public/pin_by_cid?sort=ASC&limit=2&pageToken="+p1.NextPageToken, e.key).data(t, 200, &p2)
	if got := append(jobIDs(p1.Jobs), jobIDs(p2.Jobs)...); !slices.Equal(got, []string{waiting[0].ID, waiting[1].ID, waiting[2].ID}) || p2.NextPageToken != "" {
		t.Fatalf("ASC pages: %v then %q", got, p2.NextPageToken)
	}
	var byCID v3Jobs
	e.get("/v3/files/public/pin_by_cid?cid="+waiting[1].CID, e.key).data(t, 200, &byCID)
	if !slices.Equal(jobIDs(byCID.Jobs), []string{waiting[1].ID}) {
		t.Fatalf("cid filter: %v", jobIDs(byCID.Jobs))
	}
	// With two fetches per account, two are retrieving and one prechecking.
	deadline := time.Now().Add(5 * time.Second)
	var retrieving v3Jobs
	for time.Now().Before(deadline) {
		retrieving = v3Jobs{}
		e.get("/v3/files/public/pin_by_cid?status=retrieving", e.key).data(t, 200, &retrieving)
		if len(retrieving.Jobs) == 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var pre v3Jobs
	e.get("/v3/files/public/pin_by_cid?status=prechecking", e.key).data(t, 200, &pre)
	if len(retrieving.Jobs) != 2 || len(pre.Jobs) != 1 {
		t.Fatalf("%d retrieving and %d prechecking, want 2 and 1", len(retrieving.Jobs), len(pre.Jobs))
	}
	if r := e.get("/v3/files/public/pin_by_cid?status=lost", e.key); r.status != 400 {
		t.Fatalf("an unknown status: %d", r.status)
	}

	// Cancelling drops the request (and stops its fetch).
	e.send("DELETE", "/v3/files/public/pin_by_cid/"+waiting[0].ID, e.key, nil).data(t, 200, nil)
	q = v3Jobs{}
	e.get("/v3/files/public/pin_by_cid", e.key).data(t, 200, &q)
	if slices.Contains(jobIDs(q.Jobs), waiting[0].ID) || len(q.Jobs) != 2 {
		t.Fatalf("after the cancel the queue is %v", jobIDs(q.Jobs))
	}
	if r := e.send("DELETE", "/v3/files/public/pin_by_cid/"+waiting[0].ID, e.key, nil); r.status != 404 {
		t.Fatalf("cancelling twice: %d", r.status)
	}
	if r := e.send("POST", "/v3/files/public/pin_by_cid", e.key, map[string]any{"cid": "not-a-cid"}); r.status != 400 || r.reason(t) != "INVALID_CID" {
		t.Fatalf("a bad CID: %d %s", r.status, r.body)
	}
}
