package store_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ssechat/chat/server/store"
)

func TestAnalyzeText(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []store.Token
	}{
		{"Hello, World!", []store.Token{{"hello", 0, 5}, {"world", 7, 12}}},
		{"Café CRÈME", []store.Token{{"cafe", 0, 4}, {"creme", 5, 10}}},
		// A decomposed é (e + U+0301) is one token of two code points.
		{"cafe\u0301 ok", []store.Token{{"cafe", 0, 5}, {"ok", 6, 8}}},
		{"東京タワー", []store.Token{{"東", 0, 1}, {"京", 1, 2}, {"タ", 2, 3}, {"ワ", 3, 4}, {"ー", 4, 5}}},
		{"go1.26 e-mail", []store.Token{{"go1", 0, 3}, {"26", 4, 6}, {"e", 7, 8}, {"mail", 9, 13}}},
		{"😀 hi", []store.Token{{"hi", 2, 4}}},
		// A long word is known by its first MaxWordRunes runes; its
		// offsets still cover it all.
		{strings.Repeat("Z", 3000) + " x", []store.Token{{strings.Repeat("z", store.MaxWordRunes), 0, 3000}, {"x", 3001, 3002}}},
	} {
		if got := store.AnalyzeText(tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("AnalyzeText(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

func TestParseSearch(t *testing.T) {
	for _, tc := range []struct {
		q    string
		want []store.Term
	}{
		{"Release  notes", []store.Term{{Tokens: []string{"release"}}, {Tokens: []string{"notes"}}}},
		{`"release notes" wiki`, []store.Term{{Tokens: []string{"release", "notes"}}, {Tokens: []string{"wiki"}}}},
		{`rel* "the rel"* "a b*"`, []store.Term{{Tokens: []string{"rel"}, Prefix: true}, {Tokens: []string{"the", "rel"}, Prefix: true}, {Tokens: []string{"a", "b"}, Prefix: true}}},
		{`"unclosed phrase`, []store.Term{{Tokens: []string{"unclosed", "phrase"}}}},
		{"东京", []store.Term{{Tokens: []string{"东", "京"}}}},
		{"e-mail", []store.Term{{Tokens: []string{"e", "mail"}}}},
	} {
		got, err := store.ParseSearch(tc.q)
		if err != nil {
			t.Errorf("ParseSearch(%q): %v", tc.q, err)
			continue
		}
		if !slices.EqualFunc(got, tc.want, func(a, b store.Term) bool { return a.Prefix == b.Prefix && slices.Equal(a.Tokens, b.Tokens) }) {
			t.Errorf("ParseSearch(%q) = %v, want %v", tc.q, got, tc.want)
		}
	}
}

func TestHighlights(t *testing.T) {
	for _, tc := range []struct {
		text, q string
		want    [][2]int
		all     bool
	}{
		{"Crème brûlée à Zürich", "zurich creme", [][2]int{{0, 5}, {15, 21}}, true},
		{"release notes, notes release", `"release notes"`, [][2]int{{0, 13}}, true},
		{"明日は東京で会いましょう", "東京", [][2]int{{3, 5}}, true},
		{"the wiki release", "wik* missing", [][2]int{{4, 8}}, false},
		{"😀 café", "CAFE", [][2]int{{2, 6}}, true},
	} {
		terms, err := store.ParseSearch(tc.q)
		if err != nil {
			t.Fatal(err)
		}
		got, all := store.Highlights(tc.text, terms)
		if !slices.Equal(got, tc.want) || all != tc.all {
			t.Errorf("Highlights(%q, %q) = %v %v, want %v %v", tc.text, tc.q, got, all, tc.want, tc.all)
		}
	}
}

// FuzzHighlights: ranges lie inside the text, sorted and apart, whatever
// the text and query.
func FuzzHighlights(f *testing.F) {
	f.Add("Crème brûlée à Zürich", "creme zur*")
	f.Add("東京タワー", `"東京" タ*`)
	f.Fuzz(func(t *testing.T, text, q string) {
		terms, err := store.ParseSearch(q)
		if err != nil {
			if !errors.Is(err, store.ErrBadQuery) {
				t.Fatalf("ParseSearch(%q): %v", q, err)
			}
			return
		}
		n := utf8.RuneCountInString(text)
		got, _ := store.Highlights(text, terms)
		end := -1
		for _, r := range got {
			if r[0] <= end || r[0] >= r[1] || r[1] > n {
				t.Fatalf("Highlights(%q, %q) = %v: out of order or outside %d code points", text, q, got, n)
			}
			end = r[1]
		}
	})
}
