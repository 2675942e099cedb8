// Package sigv4 verifies AWS Signature Version 4 on incoming requests.
//
// Verify walks these steps, each a small function, and stops at the first
// failure, returning an *Error that wraps one of this package's sentinels:
//
//  1. parse: the Authorization header, or the X-Amz-* query parameters of a
//     presigned URL (both at once is incomplete);
//  2. time: X-Amz-Date must lie within MaxSkew (15 minutes) of now; a
//     presigned URL must also not be past X-Amz-Date + X-Amz-Expires
//     (at most 7 days);
//  3. scope: date of the scope = date of X-Amz-Date, region = Verifier.Region,
//     service = the routed service, terminator aws4_request;
//  4. credential: the access key is looked up (unknown, expired, session
//     token mismatch);
//  5. coverage: host must be signed, and so must every x-amz-* header the
//     request carries (x-amz-date, x-amz-target, x-amz-security-token, …)
//     and content-type: an unsigned one could be changed in flight;
//  6. canonical request → string to sign → signing key → constant-time
//     compare. The payload hash is computed by the server from the body; an
//     X-Amz-Content-Sha256 header, when present, must equal it (or be
//     UNSIGNED-PAYLOAD for presigned URLs).
//
// Authorization (what the principal may do) is not this package's job.
package sigv4
