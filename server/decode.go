package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/store"
)

// maxSmallBody caps the JSON bodies of everything but uploads.
const maxSmallBody = 1 << 20

// decodeJSON decodes a JSON body of at most limit bytes into v; an empty
// body is an error unless optional.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any, optional bool) error {
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit)).Decode(v)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF) && optional:
		return nil
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%w: the request needs a JSON body", pinning.ErrInvalid)
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return fmt.Errorf("%w: malformed JSON body: %v", pinning.ErrInvalid, err)
}

// parseMetadata decodes a JSON object whose values are strings, numbers or
// booleans (kept as their JSON text) and checks the domain's limits.
func parseMetadata(raw json.RawMessage) (map[string]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: metadata must be a JSON object", pinning.ErrInvalid)
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		var str string
		switch {
		case len(v) > 0 && v[0] == '"':
			if err := json.Unmarshal(v, &str); err != nil {
				return nil, fmt.Errorf("%w: metadata value of %q is not a valid string", pinning.ErrInvalid, k)
			}
		case len(v) > 0 && (v[0] == '{' || v[0] == '['):
			return nil, fmt.Errorf("%w: metadata value of %q must be a string, number or boolean", pinning.ErrInvalid, k)
		default:
			str = string(v)
		}
		out[k] = str
	}
	if err := pinning.CheckMetadata(out); err != nil {
		return nil, err
	}
	return out, nil
}

// parseBoolParam reads an optional boolean option.
func parseBoolParam(name, v string) (*bool, error) {
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %s must be true or false", pinning.ErrInvalid, name)
	}
	return &b, nil
}

// parseCIDVersion reads the cidVersion option: 0 selects unixfs-v0-2015,
// 1 (the default) unixfs-v1-2025; "v0" and "v1" are Pinata's spelling.
func parseCIDVersion(v string) (*int, error) {
	if v == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(strings.TrimPrefix(v, "v"))
	if err != nil || (n != 0 && n != 1) {
		return nil, fmt.Errorf("%w: cidVersion must be 0 or 1", pinning.ErrInvalid)
	}
	return &n, nil
}

// mediaType is the bare media type of a Content-Type value.
func mediaType(v string) string {
	mt, _, err := mime.ParseMediaType(v)
	if err != nil {
		return ""
	}
	return mt
}

// errInvalid is an invalid-input error with a message for the client.
func errInvalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{pinning.ErrInvalid}, args...)...)
}

// pageOf reads a list's paging: limit (1 to 1000, default 100) and cursor
// (the X-Next-Cursor of the previous page).
func pageOf(r *http.Request) (store.Page, error) {
	q := r.URL.Query()
	p := store.Page{Cursor: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxPageLimit {
			return p, errInvalid("limit must be an integer from 1 to %d", store.MaxPageLimit)
		}
		p.Limit = n
	}
	return p, nil
}

// setNext tells the client where the next page is: an X-Next-Cursor
// header and a Link header (rel="next"), so list answers keep their shape
// (a bare array, as the seeds show) and a client that never pages gets the
// first page, newest first.
func setNext(w http.ResponseWriter, r *http.Request, next string) {
	if next == "" {
		return
	}
	q := r.URL.Query()
	q.Set("cursor", next)
	u := *r.URL
	u.RawQuery = q.Encode()
	w.Header().Set("X-Next-Cursor", next)
	w.Header().Set("Link", "<"+u.RequestURI()+`>; rel="next"`)
}
