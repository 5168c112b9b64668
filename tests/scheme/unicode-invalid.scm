;; Invalid UTF-8 never stops a program: each byte that is not part of a well-formed
;; character reads as U+FFFD (gcvm-scheme's rule, docs/scheme.md: Guile raises an error
;; instead). unicode-invalid.txt holds a stray #xFF, a sequence cut short by a newline, one
;; cut short by an ASCII letter, an overlong encoding in a string literal and a byte that
;; no UTF-8 holds in a symbol.
(import (scheme base) (scheme write) (scheme file) (scheme read))

(define (codes s) (map char->integer (string->list s)))
(define f (open-input-file "unicode-invalid.txt"))
(let loop ((c (read-char f)) (acc '()))
  (if (or (eof-object? c) (char=? c #\"))
      (begin (write (reverse acc)) (newline))
      (loop (read-char f) (cons (char->integer c) acc))))
(close-port f)

(define g (open-input-file "unicode-invalid.txt"))
(read-line g)
(write (codes (read-line g)))
(newline)
(let* ((str (read g)) (sym (read g)))
  (write (codes str))
  (newline)
  (write (codes (symbol->string sym)))
  (newline)
  (write (eq? sym (string->symbol (symbol->string sym))))
  (newline))

(write (codes (utf8->string (bytevector #x61 #xed #xa0 #x80 #x62 #xf4 #x90 #x80 #x80 #xe2 #x82))))
(newline)
(let ((p (open-input-bytevector (bytevector #xce #xbb #xce))))
  (write (list (read-char p) (char->integer (read-char p)) (read-char p))))
(newline)
(let ((p (open-output-bytevector)))
  (write-u8 #xff p)
  (write-string "λ" p)
  (write (bytevector-length (get-output-bytevector p))))
(newline)
