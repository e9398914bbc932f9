//go:build !race

package imap_test

// raceDetector is true when the tests run under -race, which makes
// imapclient's decoder some twenty times slower.
const raceDetector = false
