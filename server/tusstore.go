package server

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"

	tusd "github.com/tus/tusd/v2/pkg/handler"

	"github.com/ninja-ipfs/ninja/pinning"
)

// tusStore is tusd's data store over the domain's resumable uploads: every
// call names the request's principal, so an upload is only ever seen by
// the credential that created it. A domain error is kept in the request's
// tusCall (tusd's response cannot carry it) and tusd is given its nearest
// protocol error.
type tusStore struct{ svc *pinning.Service }

var (
	_ tusd.DataStore           = (*tusStore)(nil)
	_ tusd.TerminaterDataStore = (*tusStore)(nil)
)

func (ds *tusStore) NewUpload(ctx context.Context, info tusd.FileInfo) (tusd.Upload, error) {
	call := callOf(ctx)
	if info.SizeIsDeferred || info.IsPartial || info.IsFinal {
		return nil, call.fail(fmt.Errorf("%w: an upload declares its Upload-Length, and is not concatenated", pinning.ErrInvalid))
	}
	spec, err := parseTusMetadata(info.MetaData, call.cidQuery)
	if err != nil {
		return nil, call.fail(err)
	}
	spec.Length = info.Size
	res, err := ds.svc.CreateResumable(ctx, call.p, spec)
	if err != nil {
		return nil, call.fail(err)
	}
	call.id, call.expires = res.ID, res.ExpiresAt
	return &tusUpload{svc: ds.svc, res: res}, nil
}

func (ds *tusStore) GetUpload(ctx context.Context, id string) (tusd.Upload, error) {
	call := callOf(ctx)
	res, err := ds.svc.Resumable(ctx, call.p, id)
	if err != nil {
		return nil, call.fail(err)
	}
	call.expires = res.ExpiresAt
	if res.CID != "" {
		call.cid = res.CID
	}
	return &tusUpload{svc: ds.svc, res: res}, nil
}

func (ds *tusStore) AsTerminatableUpload(u tusd.Upload) tusd.TerminatableUpload {
	return u.(*tusUpload)
}

// tusUpload is one upload as tusd sees it.
type tusUpload struct {
	svc *pinning.Service
	res pinning.Resumable
}

func (u *tusUpload) GetInfo(ctx context.Context) (tusd.FileInfo, error) {
	return tusd.FileInfo{ID: u.res.ID, Size: u.res.Length, Offset: u.res.Offset, MetaData: u.res.Raw}, nil
}

func (u *tusUpload) WriteChunk(ctx context.Context, offset int64, src io.Reader) (int64, error) {
	call := callOf(ctx)
	var verify func() error
	if sum := call.checksum; sum != nil {
		src = io.TeeReader(src, sum.h)
		verify = sum.verify
	}
	n, err := u.svc.WriteResumable(ctx, call.p, u.res.ID, offset, src, verify)
	u.res.Offset = offset + n
	if err != nil {
		return 0, call.fail(err)
	}
	return n, nil
}

func (u *tusUpload) GetReader(ctx context.Context) (io.ReadCloser, error) {
	return nil, tusd.ErrNotImplemented
}

// FinishUpload pins the upload once its last byte is here: the response
// carries the CID.
func (u *tusUpload) FinishUpload(ctx context.Context) error {
	call := callOf(ctx)
	pin, err := u.svc.FinishResumable(ctx, call.p, u.res.ID)
	if err != nil {
		return call.fail(err)
	}
	call.cid, call.pin = pin.CID, pin
	return nil
}

func (u *tusUpload) Terminate(ctx context.Context) error {
	call := callOf(ctx)
	if err := u.svc.TerminateResumable(ctx, call.p, u.res.ID); err != nil {
		return call.fail(err)
	}
	return nil
}

// fail keeps the domain's err for the response and gives tusd an error it
// answers with a failure status (the wrapper writes the real one).
func (c *tusCall) fail(err error) error {
	c.err = err
	if errors.Is(err, pinning.ErrNotFound) {
		return tusd.ErrNotFound
	}
	return tusd.NewError("ERR_NINJA", "see the API error", http.StatusBadRequest)
}

// parseTusMetadata reads an upload's Upload-Metadata. The keys, ninja's
// first, then the other clients' spellings (tus-js-client, Uppy, Pinata's
// SDK), unknown ones ignored:
//
//	filename | name      the file's name (a "/" makes a directory, as in POST /upload)
//	filetype | type      its declared media type (checked against allowedMimeTypes)
//	description          the pin's description
//	metadata | keyvalues the pin's metadata: a JSON object (Pinata's keyvalues first, ninja's over it)
//	cidVersion | cid_version  0 for the unixfs-v0-2015 profile (CIDv0), 1 the default
//	car                  "true": the bytes are a CAR, imported as POST /upload imports one
//
// cidQuery is Pinata's X-Upload-Option-Cid-Version query parameter.
func parseTusMetadata(meta map[string]string, cidQuery string) (pinning.ResumableSpec, error) {
	spec := pinning.ResumableSpec{Raw: meta}
	pick := func(keys ...string) (string, string) {
		for _, k := range keys {
			if v, ok := meta[k]; ok {
				return k, v
			}
		}
		return "", ""
	}
	_, spec.Name = pick("filename", "name")
	_, spec.Type = pick("filetype", "type")
	spec.Type = mediaType(spec.Type)
	spec.Description = meta["description"]
	for _, k := range []string{"keyvalues", "metadata"} {
		v, ok := meta[k]
		if !ok || v == "" {
			continue
		}
		m, err := parseMetadata([]byte(v))
		if err != nil {
			return spec, fmt.Errorf("upload metadata %q: %w", k, err)
		}
		if spec.Metadata == nil {
			spec.Metadata = map[string]string{}
		}
		for mk, mv := range m {
			spec.Metadata[mk] = mv
		}
	}
	key, cv := pick("cidVersion", "cid_version")
	if cv == "" && cidQuery != "" {
		key, cv = "X-Upload-Option-Cid-Version", cidQuery
	}
	if cv != "" {
		v, err := parseCIDVersion(cv)
		if err != nil {
			return spec, fmt.Errorf("upload metadata %q: %w", key, err)
		}
		spec.CIDVersion = v
	}
	if car, ok := meta["car"]; ok {
		b, err := parseBoolParam("car", car)
		if err != nil {
			return spec, err
		}
		spec.CAR = *b
	}
	return spec, nil
}

// checksum is a PATCH's Upload-Checksum: the algorithm's hash of the body
// and the sum the client sent.
type checksum struct {
	h    hash.Hash
	want []byte
}

// parseChecksum parses "ALGO BASE64SUM" (nil for no header). An algorithm
// not offered is 400, as the checksum extension says.
func parseChecksum(v string) (*checksum, error) {
	if v == "" {
		return nil, nil
	}
	algo, b64, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return nil, fmt.Errorf("%w: Upload-Checksum is not \"algorithm base64-sum\"", pinning.ErrInvalid)
	}
	var h hash.Hash
	switch algo {
	case "md5":
		h = md5.New()
	case "sha1":
		h = sha1.New()
	case "sha256":
		h = sha256.New()
	case "sha512":
		h = sha512.New()
	default:
		return nil, fmt.Errorf("%w: checksum algorithm %q is not one of %s", pinning.ErrInvalid, algo, tusChecksumAlgos)
	}
	want, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil || len(want) != h.Size() {
		return nil, fmt.Errorf("%w: Upload-Checksum's %s sum is not %d base64 bytes", pinning.ErrInvalid, algo, h.Size())
	}
	return &checksum{h: h, want: want}, nil
}

func (c *checksum) verify() error {
	if subtle.ConstantTimeCompare(c.h.Sum(nil), c.want) != 1 {
		return fmt.Errorf("%w: the chunk's checksum is not the Upload-Checksum sent; it was discarded", errChecksumMismatch)
	}
	return nil
}
