//go:build !unix

package store

import "io/fs"

// oNoFollow: no such open flag; the Lstat before each open refuses links.
const oNoFollow = 0

// fileUID: files have no uid here.
func fileUID(fs.FileInfo) (int, bool) { return 0, false }
