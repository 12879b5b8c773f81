package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ninja-ipfs/ninja/api"
)

func TestAHandlerPanicIsLoggedAtErrorAndAnswered500(t *testing.T) {
	var logs bytes.Buffer
	s := &Server{log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})), obs: noObserver{}}
	h := s.wrap(route{pattern: "GET /boom", public: true, h: func(w http.ResponseWriter, r *http.Request) error {
		var rows []int
		_ = rows[len(r.URL.Path)] // an index out of range: a bug in a handler
		return nil
	}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
	var body api.ErrorBody
	if rec.Code != 500 || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.Error.Reason != "INTERNAL_ERROR" {
		t.Fatalf("a panicking handler answered %d %q, want 500 in the error shape", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "index out of range") {
		t.Error("the panic's text reached the client")
	}
	out := logs.String()
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "handler panic") || !strings.Contains(out, "panic_test.go") {
		t.Fatalf("the panic was not logged at error with its stack:\n%s", out)
	}
}
