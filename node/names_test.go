package node

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/boxo/ipns"
)

func TestASignedRecordChecksAndSaysWhatItWasSignedWith(t *testing.T) {
	key, name, err := NewNameKey()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(name, "k51") {
		t.Fatalf("name %q is not base36 libp2p-key", name)
	}
	validity := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	raw, err := SignRecord(key, "/ipfs/bafkqaaa/x", 7, validity, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := CheckRecord(name, raw)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Value != "/ipfs/bafkqaaa/x" || rec.Sequence != 7 || !rec.Validity.Equal(validity) || rec.TTL != time.Minute || rec.Name != name {
		t.Fatalf("checked record: %+v", rec)
	}
	// The value reads back from the signed data as boxo parses it.
	r, _ := ipns.UnmarshalRecord(raw)
	if v, err := r.Value(); err != nil || v.String() != "/ipfs/bafkqaaa/x" {
		t.Fatalf("record value %v %v", v, err)
	}

	_, other, _ := NewNameKey()
	if _, err := CheckRecord(other, raw); !errors.Is(err, ErrBadRecord) {
		t.Fatalf("a record checked against another name: %v", err)
	}
	expired, _ := SignRecord(key, "/ipfs/bafkqaaa", 8, time.Now().Add(-time.Second), time.Minute)
	if _, err := CheckRecord(name, expired); !errors.Is(err, ErrRecordExpired) {
		t.Fatalf("an expired record: %v", err)
	}
	if _, err := CheckRecord(name, []byte("junk")); !errors.Is(err, ErrBadRecord) {
		t.Fatalf("junk: %v", err)
	}
	if _, err := CheckRecord("not-a-name", raw); !errors.Is(err, ErrBadName) {
		t.Fatalf("a bad name: %v", err)
	}
}

func TestParseValueTakesPathsAndBareCIDs(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"bafkqaaa", "/ipfs/bafkqaaa"},
		{"/ipfs/bafkqaaa/a/b", "/ipfs/bafkqaaa/a/b"},
		{"QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR", "/ipfs/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"},
		{"/ipns/k51qzi5uqu5dhay6uiwm8kleepxzba4cgkabqgi08iwy2p9snay5kk2f0kqumh/x", "/ipns/k51qzi5uqu5dhay6uiwm8kleepxzba4cgkabqgi08iwy2p9snay5kk2f0kqumh/x"},
	} {
		got, _, err := ParseValue(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseValue(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "hello", "/ipfs/", "/ipfs/notacid", "https://example.com"} {
		if _, _, err := ParseValue(bad); !errors.Is(err, ErrBadPath) {
			t.Errorf("ParseValue(%q): %v, want ErrBadPath", bad, err)
		}
	}
}

// FuzzCheckRecord: any bytes PUT to the routing endpoint are a record
// checked or an error, never a panic.
func FuzzCheckRecord(f *testing.F) {
	key, name, _ := NewNameKey()
	raw, _ := SignRecord(key, "/ipfs/bafkqaaa", 1, time.Now().Add(time.Hour), time.Minute)
	f.Add(raw)
	f.Add([]byte{})
	f.Add([]byte("\x0a\x05hello"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if rec, err := CheckRecord(name, b); err == nil && rec.Name != name {
			t.Fatalf("checked for %s, says %s", name, rec.Name)
		}
	})
}

// FuzzParseValue: any publish value is a path or ErrBadPath.
func FuzzParseValue(f *testing.F) {
	for _, s := range []string{"bafkqaaa", "/ipfs/bafkqaaa/x", "/ipns/example.com", "Qm", "/ipfs//", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, _, err := ParseValue(s); err != nil && !errors.Is(err, ErrBadPath) {
			t.Fatalf("ParseValue(%q): %v", s, err)
		}
	})
}
