;; Strings hold every Unicode character: characters above U+00FF and above U+FFFF in
;; string operations, symbols, string ports, a UTF-8 file (unicode.txt), UTF-8 conversions,
;; case mappings and hash tables. The expected output is what Guile 3 prints for this
;; program (in a UTF-8 locale).
(import (scheme base) (scheme write) (scheme char) (scheme file) (scheme read) (srfi 69))

(define (show . xs) (for-each display xs) (newline))
(define (wshow . xs) (for-each (lambda (x) (write x) (display " ")) xs) (newline))

;; construction, length, ref, set!
(define lam (integer->char #x3bb))
(define clef (integer->char #x1d11e))
(define s (string #\a lam clef #\z))
(wshow s (string-length s) (string-ref s 1) (string-ref s 2) (char->integer (string-ref s 2)))
(string-set! s 0 (integer->char #x10ffff))
(string-set! s 3 #\x20ac)
(wshow (char->integer (string-ref s 0)) (string-ref s 3) (string-length s))
(define m (make-string 3 lam))
(string-set! m 1 #\b)
(string-fill! m clef 2)
(wshow m)
(wshow (substring "aλ𝄞bc" 1 3) (string-append "λ" "" "𝄞" "x") (string-copy "äλ𝄞" 1))
(define dst (make-string 5 #\-))
(string-copy! dst 1 "λ𝄞x" 0 2)
(wshow dst)

;; lists, vectors, map, comparisons (code-point order)
(wshow (string->list "aλ𝄞") (list->string (list #\x3bb #\x1F600 #\!)))
(wshow (string->vector "λ𝄞") (vector->string (vector #\x3b1 #\x3b2 #\x10000)))
(wshow (string-map char-upcase "aλß") (string<? "z" "λ" "𝄞") (string<? "λ" "a")
       (string=? "λ𝄞" (string lam clef)) (string>? "𝄞" "\xffff;") (string-ci=? "ΛΣ" "λσ"))
(string-for-each (lambda (c) (write (char->integer c)) (display " ")) "aλ𝄞")
(newline)

;; symbols
(define sym (string->symbol (string lam)))
(wshow sym (eq? sym '|\x3bb;|) (eq? sym 'λ) (symbol->string '|a\x1d11e;b|))
(wshow (eq? (string->symbol "λ𝄞") (string->symbol (string lam clef)))
       (string=? (symbol->string (string->symbol "ωλ")) "ωλ"))

;; write against display, characters
(write "λ𝄞\t\"x\"") (newline)
(display "λ𝄞\t\"x\"") (newline)
(wshow #\λ #\x1d11e (char->integer #\x10ffff) (string #\x41 #\x3bb))
(display (list "λ" #\λ 'λ)) (newline)

;; string ports
(define in (open-input-string "λ𝄞 (ω \"ψ\") #\\ж end"))
(wshow (peek-char in) (read-char in) (read-char in) (read in) (read in) (read in) (read-char in)
       (read-string 10 in))
(define out (open-output-string))
(write-char lam out)
(write-string "𝄞ab" out)
(write 'ω out)
(write "ж" out)
(wshow (get-output-string out) (string-length (get-output-string out)))
(wshow (read (open-input-string "(\"\\x3bb;\\x10000;\" |\\x3bb;|)")))
(wshow (read-line (open-input-string "αβ\nγ")))
(let ((p (open-input-string (string-append (make-string 1500 #\λ) "𝄞\n" (make-string 700 #\ж)))))
  (let* ((line (read-line p)) (rest (read-string 2000 p)))
    (wshow (string-length line) (string-ref line 1500) (string-length rest) (string-ref rest 699)
           (read-line p))))

;; a UTF-8 file
(define f (open-input-file "unicode.txt"))
(wshow (read-char f) (peek-char f) (read-char f) (read f))
(wshow (read-line f) (read-line f) (read-char f))
(close-port f)
(call-with-input-file "unicode.txt"
  (lambda (p) (wshow (read p) (read p) (read p) (read p))))

;; UTF-8 conversions
(define (bytevector->list b)
  (let loop ((i (- (bytevector-length b) 1)) (acc '()))
    (if (< i 0) acc (loop (- i 1) (cons (bytevector-u8-ref b i) acc)))))
(wshow (bytevector->list (string->utf8 "aλ𝄞€")))
(wshow (utf8->string (bytevector #xce #xbb #xf0 #x9d #x84 #x9e #x61)))
(wshow (bytevector->list (string->utf8 "aλ𝄞" 1 2)) (utf8->string (string->utf8 "xλy") 1 3))

;; case
(wshow (string-upcase "aäλωжé") (string-downcase "AÄΛΩЖÉ") (char-upcase #\ÿ) (char-downcase #\Σ)
       (string-foldcase "ΣΑ") (char-alphabetic? #\λ) (char-upper-case? #\Λ) (char-lower-case? #\λ)
       (char-whitespace? #\x3000) (char-alphabetic? #\x1d11e))

;; hash tables keyed by wide strings
(define h (make-hash-table equal?))
(hash-table-set! h "λ" 1)
(hash-table-set! h (string clef) 2)
(hash-table-set! h (list "ω" 'λ) 3)
(wshow (hash-table-ref/default h (string lam) 'none) (hash-table-ref/default h "𝄞" 'none)
       (hash-table-ref/default h (list (string #\x3c9) (string->symbol "λ")) 'none)
       (hash-table-ref/default h "ω" 'none))
(define hs (make-hash-table string=? string-hash))
(hash-table-set! hs "жλ" 'yes)
(wshow (hash-table-ref/default hs (string #\ж lam) 'no) (hash-table-ref/default hs "жл" 'no))
(define hc (make-hash-table string-ci=? string-ci-hash))
(hash-table-set! hc "ΛΣ" 'ci)
(wshow (hash-table-ref/default hc "λσ" 'no))
