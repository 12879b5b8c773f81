package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/ipfs/boxo/ipns"
	"github.com/ipfs/boxo/namesys"
	"github.com/libp2p/go-libp2p/core/routing"
)

// NameRecords returns the record of an IPNS name held by this server
// (the domain's, pinning.Service.IPNSRecord); an error wrapping a "not
// found" sentinel, or any error, means the gateway answers that the name
// does not resolve. The gateway never looks a name up anywhere else.
type NameRecords func(ctx context.Context, name string) ([]byte, error)

// localRecords is the gateway's routing.ValueStore: the records this
// server holds, and nothing from the network, so /ipns/{name} resolves
// only names published here and an anonymous request never makes the node
// search the DHT.
type localRecords struct{ get NameRecords }

func (l localRecords) lookup(ctx context.Context, key string) ([]byte, error) {
	if l.get == nil || !strings.HasPrefix(key, "/ipns/") {
		return nil, routing.ErrNotFound
	}
	name, err := ipns.NameFromRoutingKey([]byte(key))
	if err != nil {
		return nil, routing.ErrNotFound
	}
	rec, err := l.get(ctx, name.String())
	if err != nil || len(rec) == 0 {
		return nil, routing.ErrNotFound
	}
	// An expired record is no answer: a resolver must refuse it, and
	// handing it out (to the gateway's resolver or as ?format=ipns-record)
	// would serve a value its publisher no longer vouches for.
	if r, err := ipns.UnmarshalRecord(rec); err == nil {
		if eol, err := r.Validity(); err == nil && !time.Now().Before(eol) {
			return nil, expiredRecord{name: name.String(), eol: eol}
		}
	}
	return rec, nil
}

// expiredRecord is a lookup of a name whose record has expired: not
// found, for boxo, with what happened for people.
type expiredRecord struct {
	name string
	eol  time.Time
}

func (e expiredRecord) Error() string {
	return "the record of " + e.name + " expired at " + e.eol.UTC().Format(time.RFC3339) + "; publish the name again"
}

func (e expiredRecord) Unwrap() error { return routing.ErrNotFound }

// mustName is the ipns.Name of a name ParseName accepted.
func mustName(s string) ipns.Name {
	n, _ := ipns.NameFromString(s)
	return n
}

func (l localRecords) GetValue(ctx context.Context, key string, _ ...routing.Option) ([]byte, error) {
	return l.lookup(ctx, key)
}

func (l localRecords) SearchValue(ctx context.Context, key string, _ ...routing.Option) (<-chan []byte, error) {
	rec, err := l.lookup(ctx, key)
	if err != nil {
		return nil, err
	}
	ch := make(chan []byte, 1)
	ch <- rec
	close(ch)
	return ch, nil
}

func (l localRecords) PutValue(context.Context, string, []byte, ...routing.Option) error {
	return routing.ErrNotSupported
}

// dnslinkTimeout bounds one DNSLink lookup.
const dnslinkTimeout = 5 * time.Second

// errNotDNSLinkDomain refuses a lookup for a domain not configured.
var errNotDNSLinkDomain = errors.New("not a configured DNSLink domain")

// dnslinkResolver is the name system's DNS resolver (a madns
// BasicResolver, as boxo's gateway uses): it answers TXT lookups of the
// configured DNSLink domains only (_dnslink.{domain}, or {domain}), so a
// Host header or /ipns/{domain} an anonymous client picks never makes the
// server query DNS for a name the operator did not list. server is the
// DNS server to ask (host:port, --dns-resolver); "" means the system's.
type dnslinkResolver struct {
	domains map[string]bool
	r       *net.Resolver
}

func newDNSLinkResolver(domains []string, server string) *dnslinkResolver {
	d := &dnslinkResolver{domains: map[string]bool{}, r: net.DefaultResolver}
	for _, s := range domains {
		d.domains[strings.TrimSuffix(strings.ToLower(s), ".")] = true
	}
	if server != "" {
		var dialer net.Dialer
		d.r = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, server)
		}}
	}
	return d
}

// Allowed reports whether host (a domain, without port) is a configured
// DNSLink domain.
func (d *dnslinkResolver) Allowed(host string) bool {
	return d.domains[strings.TrimSuffix(strings.ToLower(host), ".")]
}

func (d *dnslinkResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	fqdn := strings.TrimSuffix(strings.ToLower(name), ".")
	if !d.Allowed(strings.TrimPrefix(fqdn, "_dnslink.")) {
		return nil, fmt.Errorf("%w: %s", errNotDNSLinkDomain, name)
	}
	ctx, cancel := context.WithTimeout(ctx, dnslinkTimeout)
	defer cancel()
	return d.r.LookupTXT(ctx, fqdn+".")
}

func (d *dnslinkResolver) LookupIPAddr(context.Context, string) ([]net.IPAddr, error) {
	return nil, errors.New("the gateway's resolver looks up DNSLink TXT records only")
}

// newNameSystem is the gateway's name system: IPNS from the records held
// here, DNSLink for the configured domains, no cache (a publish is seen
// by the next request).
func newNameSystem(records NameRecords, dns *dnslinkResolver) (localRecords, namesys.NameSystem, error) {
	vs := localRecords{get: records}
	ns, err := namesys.NewNameSystem(vs, namesys.WithDNSResolver(dns))
	if err != nil {
		return vs, nil, fmt.Errorf("name system: %w", err)
	}
	return vs, ns, nil
}
