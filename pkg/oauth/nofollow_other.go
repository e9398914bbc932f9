//go:build !unix

package oauth

// oNoFollow: no such open flag here; the Lstat before the open refuses
// links.
const oNoFollow = 0
