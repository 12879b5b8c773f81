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

// createGroups makes one group per name (the second public) and returns
// them, oldest first.
func (e *env) createGroups(names ...string) []v3Group {
	e.t.Helper()
	var made []v3Group
	for i, name := range names {
		var g v3Group
		e.send("POST", "/v3/groups/public", e.key, map[string]any{"name": name, "is_public": i == 1}).data(e.t, 200, &g)
		if g.Name != name || g.IsPublic != (i == 1) || g.CreatedAt == "" || g.Created != g.CreatedAt {
			e.t.Fatalf("created %+v", g)
		}
		made = append(made, g)
	}
	return made
}

func TestPinataGroupsListPageRenameAndStayInTheirAccount(t *testing.T) {
	e := newEnv(t)
	made := e.createGroups("Holiday photos", "invoices", "photos 2026")
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
	var renamed, got v3Group
	e.send("PUT", "/v3/groups/public/"+made[0].ID, e.key, map[string]any{"name": "Holidays"}).data(t, 200, &renamed)
	e.get("/v3/groups/public/"+made[0].ID, e.key).data(t, 200, &got)
	if renamed.Name != "Holidays" || got.Name != "Holidays" || got.IsPublic {
		t.Fatalf("after the rename: %+v %+v", renamed, got)
	}
	// Another account sees none of it.
	a := e.uploadV3("a.txt", []byte("file a"))
	acct2, _ := e.store.CreateAccount("second")
	key2 := e.mintKey(acct2.ID, "pins:read", "pins:write")
	for _, r := range []response{
		e.get("/v3/groups/public/"+made[1].ID, key2),
		e.send("PUT", "/v3/groups/public/"+made[1].ID+"/ids/"+a.ID, key2, nil),
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

func TestPinataGroupsAreNamedSetsOfTheAccountsFiles(t *testing.T) {
	e := newEnv(t)
	made := e.createGroups("first", "second")
	// Files join and leave; a file may be in several groups, and its
	// group_id is the first it joined.
	a := e.uploadV3("a.txt", []byte("file a"))
	b := e.uploadV3("b.txt", []byte("file b"))
	for _, step := range []struct{ group, file string }{
		{made[0].ID, a.ID}, {made[0].ID, b.ID}, {made[1].ID, a.ID}, {made[0].ID, a.ID},
	} {
		e.send("PUT", "/v3/groups/public/"+step.group+"/ids/"+step.file, e.key, nil).data(t, 200, nil)
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
	if r := e.send("PUT", "/v3/groups/public/"+made[1].ID+"/ids/pin_nope", e.key, nil); r.status != 404 {
		t.Fatalf("adding a file that does not exist: %d", r.status)
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

// createKey makes a Pinata key with the API key and returns its triple.
func (e *env) createKey(body map[string]any) (jwt, key, secret string) {
	e.t.Helper()
	r := e.send("POST", "/v3/pinata/keys", e.key, body)
	if r.status != 200 {
		e.t.Fatalf("create key: %d %s", r.status, r.body)
	}
	m := r.json(e.t)
	return m["JWT"].(string), m["pinata_api_key"].(string), m["pinata_api_secret"].(string)
}

func TestPinataKeysAreScopedCountedAccessJWTs(t *testing.T) {
	e := newEnv(t)
	// A key for listing and pin jobs only, three uses.
	jwt, key, secret := e.createKey(map[string]any{"keyName": "reader", "maxUses": 3,
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
	admin, _, _ := e.createKey(map[string]any{"keyName": "all", "permissions": map[string]any{"admin": true}})
	if r := e.postForm("/v3/files", bearer(admin), file("y", []byte("y"))); r.status != 200 {
		t.Fatalf("uploading with an admin key: %d %s", r.status, r.body)
	}
	if r := e.send("POST", "/v3/pinata/keys", admin, map[string]any{"keyName": "x", "permissions": map[string]any{"admin": true}}); r.status != 403 {
		t.Fatalf("a key made through the key API made a key: %d %s", r.status, r.body)
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
}

func TestPinataKeysListWithItsFiltersAndRevoke(t *testing.T) {
	e := newEnv(t)
	limited, limitedKey, _ := e.createKey(map[string]any{"keyName": "reader", "maxUses": 1, "permissions": map[string]any{"resources": []string{"org:files:read"}}})
	e.get("/v3/files/public", limited) // its one use
	admin, adminKey, _ := e.createKey(map[string]any{"keyName": "all", "permissions": map[string]any{"admin": true}})
	_, filesKey, _ := e.createKey(map[string]any{"keyName": "files", "permissions": map[string]any{"resources": []string{"org:files:write"}}})

	var l struct {
		Keys  []v3Key `json:"keys"`
		Count int     `json:"count"`
	}
	r := e.get("/v3/pinata/keys", e.key)
	if err := jsonUnmarshal(r.body, &l); err != nil || l.Count != 3 || l.Keys[2].ID != limitedKey || l.Keys[2].Status != "exhausted" || l.Keys[2].Uses != 1 {
		t.Fatalf("keys: %s", r.body)
	}
	if !slices.Equal(l.Keys[1].Scopes, []string{"upload", "pins:read", "pins:write", "tokens:write", "analytics:read"}) ||
		!slices.Equal(l.Keys[0].Scopes, []string{"upload", "pins:write", "tokens:write"}) {
		t.Fatalf("admin maps to %v, org:files:write to %v", l.Keys[1].Scopes, l.Keys[0].Scopes)
	}
	for q, want := range map[string][]string{
		"?exhausted=true": {limitedKey}, "?limitedUse=false": {filesKey, adminKey}, "?name=ALL": {adminKey}, "?offset=2": {limitedKey},
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
	if r := e.do("PUT", "/v3/pinata/keys/nope", bearer(e.key), nil); r.status != 404 {
		t.Errorf("revoking an unknown key: %d", r.status)
	}
}
