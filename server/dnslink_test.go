package server_test

import (
	"net"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/ninja-ipfs/ninja/app"
)

// txtServer is a DNS server on a loopback UDP port that answers TXT
// queries from its records (name without the trailing dot -> TXT value)
// and counts the queries it saw, so a test can tell a name was never
// looked up.
type txtServer struct {
	addr    string
	mu      sync.Mutex
	records map[string]string
	asked   []string
}

func startTXTServer(t *testing.T) *txtServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	s := &txtServer{addr: pc.LocalAddr().String(), records: map[string]string{}}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp, ok := s.answer(buf[:n]); ok {
				pc.WriteTo(resp, from)
			}
		}
	}()
	return s
}

func (s *txtServer) set(name, txt string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[name] = txt
}

func (s *txtServer) queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.asked...)
}

func (s *txtServer) answer(query []byte) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	name := strings.TrimSuffix(strings.ToLower(q.Name.String()), ".")
	s.mu.Lock()
	s.asked = append(s.asked, name)
	txt, ok := s.records[name]
	s.mu.Unlock()
	hdr := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	if !ok {
		hdr.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, hdr)
	b.StartQuestions()
	b.Question(q)
	b.StartAnswers()
	if ok && q.Type == dnsmessage.TypeTXT {
		b.TXTResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60},
			dnsmessage.TXTResource{TXT: []string{txt}})
	}
	out, err := b.Finish()
	return out, err == nil
}

func withDNSLink(resolver string, domains ...string) envOption {
	return func(o *app.Options) {
		o.DNSLinkDomains = domains
		o.Node.DNSResolver = resolver
	}
}

// TestDNSLinkDomainsServeTheirRecordsTarget: for a configured domain,
// /ipns/{domain} and requests whose Host is the domain serve what its
// _dnslink TXT record points at, with the site's _redirects honoured on
// the DNSLink origin; content not stored here is not served, and a
// domain that is not configured is never looked up.
func TestDNSLinkDomainsServeTheirRecordsTarget(t *testing.T) {
	dns := startTXTServer(t)
	e := newEnv(t, withDNSLink(dns.addr, "site.example", "missing.example"))
	site := e.uploadSite(map[string]string{
		"index.html":    "dnslink home",
		"page.html":     "a page",
		"404.html":      "site's not found",
		"_redirects":    "/old /page.html 301\n/*  /404.html 404\n",
		"app/data.json": `{"ok":true}`,
	})
	dns.set("_dnslink.site.example", "dnslink=/ipfs/"+site)
	dns.set("_dnslink.missing.example", "dnslink=/ipfs/"+missingCID)

	// The path form.
	if r := e.get("/ipns/site.example/page.html", ""); r.status != 200 || string(r.body) != "a page" {
		t.Fatalf("/ipns/site.example/page.html: %d %s", r.status, r.body)
	}
	// The Host form: the domain is the site's origin, served by the
	// gateway alone, its _redirects applied.
	for _, tc := range []struct {
		path, body, location string
		status               int
	}{
		{"/", "dnslink home", "", 200},
		{"/page.html", "a page", "", 200},
		{"/old", "", "/page.html", 301},
		{"/nope", "site's not found", "", 404},
		{"/upload", "site's not found", "", 404}, // the dashboard's path is the site's here
	} {
		r := e.doHost("GET", "site.example", tc.path, nil, nil)
		if r.status != tc.status || (tc.body != "" && string(r.body) != tc.body) || r.header.Get("Location") != tc.location {
			t.Fatalf("Host site.example %s: %d %q Location %q", tc.path, r.status, r.body, r.header.Get("Location"))
		}
	}
	// The API is not on the DNSLink host.
	if r := e.doHost("GET", "site.example", "/names", map[string]string{"X-Api-Key": e.admin}, nil); r.status == 200 {
		t.Fatalf("the API answered on a DNSLink host: %s", r.body)
	}
	// A record pointing at content not stored here: a 404, never a fetch.
	if r := e.get("/ipns/missing.example/", ""); r.status != 404 {
		t.Fatalf("content not stored here: %d %s", r.status, r.body)
	}
	// A domain not configured: refused, and never asked of DNS.
	before := len(dns.queries())
	if r := e.get("/ipns/other.example/", ""); r.status != 404 {
		t.Fatalf("/ipns/other.example: %d %s", r.status, r.body)
	}
	if r := e.doHost("GET", "other.example", "/ipfs/"+site+"/", nil, nil); r.status != 200 {
		t.Fatalf("another host is the path gateway: %d %s", r.status, r.body)
	}
	for _, q := range dns.queries()[before:] {
		if strings.Contains(q, "other.example") {
			t.Fatalf("the server looked up %s", q)
		}
	}
}

// TestNameOnTheSubdomainGateway: {name}.ipns.{domain} serves a name held
// here in its own origin.
func TestNameOnTheSubdomainGateway(t *testing.T) {
	e := newEnv(t, withGatewayDomains("example.com"))
	site := e.uploadSite(map[string]string{"index.html": "named site"})
	name := e.createName(e.admin, "www")
	if r := e.postJSON("/names/www", e.admin, map[string]any{"value": site}); r.status != 200 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	} else if u := r.json(t)["url"]; u != "http://"+name+".ipns.example.com/" {
		t.Fatalf("url %v", u)
	}
	r := e.doHost("GET", name+".ipns.example.com", "/", nil, nil)
	if r.status != 200 || string(r.body) != "named site" {
		t.Fatalf("%s.ipns.example.com: %d %s", name, r.status, r.body)
	}
	if csp := r.header.Get("Content-Security-Policy"); strings.Contains(csp, "sandbox") {
		t.Fatalf("a name's own origin is sandboxed: %s", csp)
	}
}
