package server_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/ninja-ipfs/ninja/token"
)

type v3Group struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	IsPublic  bool   `json:"is_public"`
	CreatedAt string `json:"created_at"`
	Created   string `json:"createdAt"`
}

func groupIDs(gs []v3Group) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.ID
	}
	return out
}

func TestPinataGroupsAreNamedSetsOfTheAccountsFiles(t *testing.T) {
	e := newEnv(t)
	var made []v3Group
	for i, name := range []string{"Holiday photos", "invoices", "photos 2026"} {
		var g v3Group
		e.send("POST", "/v3/groups/public", e.key, map[string]any{"name": name, "is_public": i == 1}).data(t, 200, &g)
		if g.Name != name || g.IsPublic != (i == 1) || g.CreatedAt == "" || g.Created != g.CreatedAt {
			t.Fatalf("created %+v", g)
		}
		made = append(made, g)
	}
	list := func(q string) (gs []v3Group, next string) {
		var l struct {
			Groups        []v3Group `json:"groups"`
			NextPageToken string    `json:"next_page_token"`
		}
		e.get("/v3/groups/public"+q, e.key).data(t, 200, &l)
		return l.Groups, l.NextPageToken
	}
	page, next := list("?limit=2")
	rest, end := list("?limit=2&pageToken=" + next)
	if got := append(groupIDs(page), groupIDs(rest)...); !slices.Equal(got, []string{made[2].ID, made[1].ID, made[0].ID}) || end != "" {
		t.Fatalf("pages: %v then %q", got, end)
	}
	if gs, _ := list("?name=PHOTOS"); !slices.Equal(groupIDs(gs), []string{made[2].ID, made[0].ID}) {
		t.Fatalf("name=PHOTOS: %v", groupIDs(gs))
	}
	if gs, _ := list("?isPublic=true"); !slices.Equal(groupIDs(gs), []string{made[1].ID}) {
		t.Fatalf("isPublic=true: %v", groupIDs(gs))
	}
	var renamed v3Group
	e.send("PUT", "/v3/groups/public/"+made[0].ID, e.key, map[string]any{"name": "Holidays"}).data(t, 200, &renamed)
	var got v3Group
	e.get("/v3/groups/public/"+made[0].ID, e.key).data(t, 200, &got)
	if renamed.Name != "Holidays" || got.Name != "Holidays" || got.IsPublic {
		t.Fatalf("after the rename: %+v %+v", renamed, got)
	}

	// Files join and leave; a file may be in several groups, and its
	// group_id is the first it joined.
	a := e.uploadV3("a.txt", []byte("file a"))
	b := e.uploadV3("b.txt", []byte("file b"))
	for _, step := range []struct{ method, group, file string }{
		{"PUT", made[0].ID, a.ID}, {"PUT", made[0].ID, b.ID}, {"PUT", made[1].ID, a.ID}, {"PUT", made[0].ID, a.ID},
	} {
		e.send(step.method, "/v3/groups/public/"+step.group+"/ids/"+step.file, e.key, nil).data(t, 200, nil)
	}
	members := func(g string) []string { return ids(e.listV3("?group=" + g).Files) }
	if m := members(made[0].ID); !slices.Equal(m, []string{b.ID, a.ID}) {
		t.Fatalf("group 0 holds %v", m)
	}
	var fa v3File
	e.get("/v3/files/public/"+a.ID, e.key).data(t, 200, &fa)
	if fa.GroupID == nil || *fa.GroupID != made[0].ID {
		t.Fatalf("file a's group_id is %v, want the first group it joined", fa.GroupID)
	}
	e.send("DELETE", "/v3/groups/public/"+made[0].ID+"/ids/"+b.ID, e.key, nil).data(t, 200, nil)
	if m := members(made[0].ID); !slices.Equal(m, []string{a.ID}) {
		t.Fatalf("after removing b, group 0 holds %v", m)
	}
	c := e.uploadV3("c.txt", []byte("file c"))
	if m := ids(e.listV3("?group=null").Files); !slices.Equal(m, []string{c.ID, b.ID}) {
		t.Fatalf("files in no group: %v", m)
	}
	// Deleting a group keeps its files; deleting a file leaves its groups.
	e.send("DELETE", "/v3/groups/public/"+made[0].ID, e.key, nil).data(t, 200, nil)
	if r := e.get("/v3/groups/public/"+made[0].ID, e.key); r.status != 404 {
		t.Fatalf("a deleted group: %d", r.status)
	}
	if r := e.get("/v3/files/public/"+a.ID, e.key); r.status != 200 {
		t.Fatalf("a file of a deleted group: %d", r.status)
	}
	e.send("DELETE", "/v3/files/public/"+a.ID, e.key, nil).data(t, 200, nil)
	if m := members(made[1].ID); len(m) != 0 {
		t.Fatalf("group 1 still holds the deleted file: %v", m)
	}

	// Another account sees none of it.
	acct2, _ := e.store.CreateAccount("second")
	key2 := e.mintKey(acct2.ID, "pins:read", "pins:write")
	for _, r := range []response{
		e.get("/v3/groups/public/"+made[1].ID, key2),
		e.send("PUT", "/v3/groups/public/"+made[1].ID+"/ids/"+b.ID, key2, nil),
		e.send("DELETE", "/v3/groups/public/"+made[1].ID, key2, nil),
	} {
		if r.status != 404 {
			t.Errorf("another account: %d %s, want 404", r.status, r.body)
		}
	}
	if r := e.send("POST", "/v3/groups/public", e.key, map[string]any{"name": "  "}); r.status != 400 {
		t.Errorf("a blank name: %d", r.status)
	}
	if r := e.send("POST", "/v3/groups/private", e.key, map[string]any{"name": "secret"}); r.status != 400 || !strings.Contains(r.details(t), "private") {
		t.Errorf("a private group: %d %s", r.status, r.body)
	}
}

type v3Key struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Key     string   `json:"key"`
	MaxUses int64    `json:"max_uses"`
	Uses    int64    `json:"uses"`
	Scopes  []string `json:"scopes"`
	Revoked bool     `json:"revoked"`
	Status  string   `json:"status"`
}

func TestPinataKeysAreScopedCountedAccessJWTs(t *testing.T) {
	e := newEnv(t)
	create := func(body map[string]any) (jwt, key, secret string) {
		r := e.send("POST", "/v3/pinata/keys", e.key, body)
		m := r.json(t)
		if r.status != 200 {
			t.Fatalf("create key: %d %s", r.status, r.body)
		}
		return m["JWT"].(string), m["pinata_api_key"].(string), m["pinata_api_secret"].(string)
	}
	// A key for listing and pinning by hash only, three uses.
	jwt, key, secret := create(map[string]any{"keyName": "reader", "maxUses": 3,
		"permissions": map[string]any{"endpoints": map[string]any{"data": map[string]any{"pinList": true}, "pinning": map[string]any{"pinJobs": true}}}})
	if !token.LooksLikeJWT(jwt) || secret != jwt || key == "" {
		t.Fatalf("key triple: %q %q %q, want the JWT, its jti, the JWT", jwt, key, secret)
	}
	if r := e.get("/v3/files/public", jwt); r.status != 200 {
		t.Fatalf("listing with the key: %d %s", r.status, r.body)
	}
	if r := e.postForm("/v3/files", bearer(jwt), file("x", []byte("x"))); r.status != 403 || r.reason(t) != "FORBIDDEN" {
		t.Fatalf("uploading with a read key: %d %s", r.status, r.body)
	}
	// The legacy pair: pinata_api_key is the jti, the secret the JWT.
	pair := map[string]string{"pinata_api_key": key, "pinata_secret_api_key": secret}
	if r := e.do("GET", "/data/pinList", pair, nil); r.status != 200 {
		t.Fatalf("the legacy pair of the key: %d %s", r.status, r.body)
	}
	if r := e.get("/pinning/pinJobs", jwt); r.status != 200 {
		t.Fatalf("pin jobs with the key: %d %s", r.status, r.body)
	}
	// Three allowed requests were made (the refused upload is not one):
	// the fourth is over maxUses.
	if r := e.get("/v3/files/public", jwt); r.status != 403 || r.reason(t) != "TOKEN_EXHAUSTED" {
		t.Fatalf("past maxUses: %d %s", r.status, r.body)
	}

	admin, adminKey, _ := create(map[string]any{"keyName": "all", "permissions": map[string]any{"admin": true}})
	if r := e.postForm("/v3/files", bearer(admin), file("y", []byte("y"))); r.status != 200 {
		t.Fatalf("uploading with an admin key: %d %s", r.status, r.body)
	}
	if r := e.send("POST", "/v3/pinata/keys", admin, map[string]any{"keyName": "x", "permissions": map[string]any{"admin": true}}); r.status != 403 {
		t.Fatalf("a key made through the key API made a key: %d %s", r.status, r.body)
	}
	e.send("POST", "/v3/pinata/keys", e.key, map[string]any{"keyName": "files", "permissions": map[string]any{"resources": []string{"org:files:write"}}})

	var l struct {
		Keys  []v3Key `json:"keys"`
		Count int     `json:"count"`
	}
	r := e.get("/v3/pinata/keys", e.key)
	if err := jsonUnmarshal(r.body, &l); err != nil || l.Count != 3 || l.Keys[2].ID != key || l.Keys[2].Status != "exhausted" || l.Keys[2].Uses != 3 {
		t.Fatalf("keys: %s", r.body)
	}
	if !slices.Equal(l.Keys[1].Scopes, []string{"upload", "pins:read", "pins:write", "tokens:write", "analytics:read"}) {
		t.Fatalf("admin maps to %v", l.Keys[1].Scopes)
	}
	for q, want := range map[string][]string{
		"?exhausted=true": {key}, "?limitedUse=false": {l.Keys[0].ID, adminKey}, "?name=ALL": {adminKey}, "?offset=2": {key},
	} {
		var got struct{ Keys []v3Key }
		jsonUnmarshal(e.get("/v3/pinata/keys"+q, e.key).body, &got)
		var gotIDs []string
		for _, k := range got.Keys {
			gotIDs = append(gotIDs, k.ID)
		}
		if !slices.Equal(gotIDs, want) {
			t.Errorf("%s: %v, want %v", q, gotIDs, want)
		}
	}
	// Revoking: the next request is refused.
	if r := e.do("PUT", "/v3/pinata/keys/"+adminKey, bearer(e.key), nil); r.status != 200 || string(r.body) != "\"Revoked\"\n" {
		t.Fatalf("revoke: %d %q", r.status, r.body)
	}
	if r := e.get("/v3/files/public", admin); r.status != 401 || r.reason(t) != "TOKEN_REVOKED" {
		t.Fatalf("a revoked key: %d %s", r.status, r.body)
	}
	for name, body := range map[string]map[string]any{
		"no name":             {"permissions": map[string]any{"admin": true}},
		"no permission":       {"keyName": "none", "permissions": map[string]any{}},
		"an unknown endpoint": {"keyName": "x", "permissions": map[string]any{"endpoints": map[string]any{"pinning": map[string]any{"teleport": true}}}},
		"an unknown resource": {"keyName": "x", "permissions": map[string]any{"resources": []string{"org:moon:write"}}},
	} {
		if r := e.send("POST", "/v3/pinata/keys", e.key, body); r.status != 400 {
			t.Errorf("%s: %d %s, want 400", name, r.status, r.body)
		}
	}
	if r := e.do("PUT", "/v3/pinata/keys/"+"nope", bearer(e.key), nil); r.status != 404 {
		t.Errorf("revoking an unknown key: %d", r.status)
	}
}
