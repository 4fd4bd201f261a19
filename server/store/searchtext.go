package store

import (
	"errors"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// This file is the one analysis of text both stores index with, the server
// highlights with and the Redis store verifies phrases with, so that what a
// store finds and what the client is shown marked never disagree.

// Token is one word of a text: its folded form and where it lies, in
// Unicode code points of the text, end exclusive.
type Token struct {
	Text       string
	Start, End int
}

// Term is one condition of a search: its tokens must appear one after the
// other, the last as a prefix of a word when Prefix is set. A plain word is
// one token; a quoted phrase, a word that folds to several tokens ("e-mail")
// and a run of CJK characters are several.
type Term struct {
	Tokens []string
	Prefix bool
}

// MaxSearchTerms bounds the terms of one query: each costs the store an
// index lookup.
const MaxSearchTerms = 16

// ErrBadQuery reports a query with nothing to search for (only punctuation,
// say) or too many terms: the server answers 422 bad_query.
var ErrBadQuery = errors.New("bad search query")

// isCJK reports whether r is written without spaces between words, so that
// each character is indexed as a word of its own and a query's run of them
// is searched as a phrase.
func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// isWordRune reports whether r belongs to a word: letters, digits and the
// marks that combine with them.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)
}

// foldRune appends r without case or diacritics: decomposed (NFD), its
// non-spacing marks dropped, lower-cased.
func foldRune(b []byte, r rune) []byte {
	if r < utf8.RuneSelf {
		return append(b, byte(unicode.ToLower(r)))
	}
	var buf [utf8.UTFMax]byte
	n := utf8.EncodeRune(buf[:], r)
	d := norm.NFD.Bytes(buf[:n])
	for len(d) > 0 {
		c, size := utf8.DecodeRune(d)
		d = d[size:]
		if unicode.Is(unicode.Mn, c) {
			continue
		}
		b = utf8.AppendRune(b, unicode.ToLower(c))
	}
	return b
}

// MaxWordRunes is how much of a word is indexed and compared: a longer one
// (a pasted hash, a run of one letter) is known by its first MaxWordRunes
// code points, so it costs the index no more than a long word does, while
// its highlight still covers all of it.
const MaxWordRunes = 64

// AnalyzeText cuts text into folded tokens with their offsets. A token that
// folds to nothing (a lone combining mark) is left out; a token's Text is
// at most MaxWordRunes runes of its folded word.
func AnalyzeText(text string) []Token {
	var (
		out   []Token
		word  []byte
		runes int // runes folded into word
		start = -1
		pos   int
	)
	flush := func(end int) {
		if start >= 0 && len(word) > 0 {
			out = append(out, Token{Text: string(word), Start: start, End: end})
		}
		word, start, runes = word[:0], -1, 0
	}
	for _, r := range text {
		switch {
		case isCJK(r):
			flush(pos)
			if w := foldRune(nil, r); len(w) > 0 {
				out = append(out, Token{Text: string(w), Start: pos, End: pos + 1})
			}
		case isWordRune(r):
			if start < 0 {
				start = pos
			}
			if runes < MaxWordRunes {
				n := len(word)
				word = foldRune(word, r)
				runes += utf8.RuneCount(word[n:])
				if runes > MaxWordRunes { // a rune that folded to several
					word = []byte(string([]rune(string(word))[:MaxWordRunes]))
					runes = MaxWordRunes
				}
			}
		default:
			flush(pos)
		}
		pos++
	}
	flush(pos)
	return out
}

// Tokens returns the folded tokens of text, in order (duplicates kept).
func Tokens(text string) []string {
	toks := AnalyzeText(text)
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.Text
	}
	return out
}

// ParseSearch turns a query into terms: words separated by spaces, "quoted
// phrases" (an unclosed quote runs to the end) and a word or phrase ending
// in * ("rel*", "the rel*" or "the rel"*) whose last word is a prefix. A query with no word in it, or more than MaxSearchTerms terms,
// wraps ErrBadQuery.
func ParseSearch(q string) ([]Term, error) {
	var terms []Term
	add := func(s string) {
		prefix := false
		if strings.HasSuffix(s, "*") {
			s, prefix = strings.TrimRight(s, "*"), true
		}
		toks := Tokens(s)
		if len(toks) > 0 {
			terms = append(terms, Term{Tokens: toks, Prefix: prefix})
		}
	}
	for rest := q; rest != ""; {
		rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
		if rest == "" {
			break
		}
		if rest[0] == '"' {
			body, after, _ := strings.Cut(rest[1:], `"`)
			if strings.HasPrefix(after, "*") { // "a phrase"* as FTS5 writes it
				body, after = body+"*", after[1:]
			}
			add(body)
			rest = after
			continue
		}
		end := strings.IndexFunc(rest, func(r rune) bool { return unicode.IsSpace(r) || r == '"' })
		if end < 0 {
			end = len(rest)
		}
		add(rest[:end])
		rest = rest[end:]
	}
	switch {
	case len(terms) == 0:
		return nil, errors.Join(ErrBadQuery, errors.New("no word to search for"))
	case len(terms) > MaxSearchTerms:
		return nil, errors.Join(ErrBadQuery, errors.New("too many terms"))
	}
	return terms, nil
}

// matchAt reports whether term matches toks starting at i.
func (t Term) matchAt(toks []Token, i int) bool {
	if i+len(t.Tokens) > len(toks) {
		return false
	}
	last := len(t.Tokens) - 1
	for j, want := range t.Tokens {
		got := toks[i+j].Text
		if j == last && t.Prefix {
			if !strings.HasPrefix(got, want) {
				return false
			}
		} else if got != want {
			return false
		}
	}
	return true
}

// Highlights returns where the terms match text, as sorted, merged
// [start, end) ranges of Unicode code points, and whether every term
// matched at least once.
func Highlights(text string, terms []Term) (ranges [][2]int, all bool) {
	toks := AnalyzeText(text)
	all = true
	for _, t := range terms {
		found := false
		for i := range toks {
			if t.matchAt(toks, i) {
				found = true
				ranges = append(ranges, [2]int{toks[i].Start, toks[i+len(t.Tokens)-1].End})
			}
		}
		all = all && found
	}
	slices.SortFunc(ranges, func(a, b [2]int) int {
		if a[0] != b[0] {
			return a[0] - b[0]
		}
		return a[1] - b[1]
	})
	merged := ranges[:0]
	for _, r := range ranges {
		if n := len(merged); n > 0 && r[0] <= merged[n-1][1] {
			merged[n-1][1] = max(merged[n-1][1], r[1])
			continue
		}
		merged = append(merged, r)
	}
	return merged, all
}
