// Package plural writes a count with its noun, "1 message" and "2
// messages", so that no output says "1 messages". Every count+noun that
// users read goes through it.
package plural

import "strconv"

// Integer is any integer type a count comes in.
type Integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

// Of is n followed by one when n is 1, else by many:
// Of(1, "message", "messages") is "1 message", Of(0, ...) "0 messages".
func Of[N Integer](n N, one, many string) string {
	return strconv.FormatInt(int64(n), 10) + " " + Word(n, one, many)
}

// Word is one when n is 1, else many: the verb or noun that agrees with a
// count printed elsewhere ("is"/"are", "was"/"were", "it"/"them").
func Word[N Integer](n N, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
