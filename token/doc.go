// Package token holds ninja's credential formats and its policy engine.
//
// Every credential ninja accepts resolves to a [Grant]: the account it acts
// for, the API key it descends from, its scopes and its [Constraints]. One
// check pipeline serves every kind:
//
//	FromHeaders        -> Presented{Kind, Secret}        (syntax only, no lookup)
//	ParseOpaque / Hasher.Sum                             (bws_…, sup_…: checksum, keyed hash)
//	VerifyUploadJWT / Signer.Verify                      (JWTs: signature, iat/exp/jti)
//	server looks up the record -> Grant (Narrow of its parent)
//	Grant.Check(Request)       before the body is read   (expiry, scope, IP, origin)
//	Grant.Bind / UploadClaims.CheckRequest               (bound upload parameters)
//	Grant.CheckFile(File)      once the first bytes are sniffed (size, MIME)
//
// The package is pure logic: it does no I/O, the clock is passed in and
// randomness is an io.Reader, so every rule is testable with fixed inputs.
// It is the only package of ninja that imports jwx.
//
// Errors wrap one of the sentinel errors in errors.go; the server maps them
// to the HTTP status and reason code of the API's error table.
package token
