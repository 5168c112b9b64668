;; (scheme base) and (scheme char) procedures beyond the numbers: case-insensitive
;; comparisons, binary ports and bytevector-copy!. library.out is what Guile 3.0 prints.
(import (scheme base) (scheme write) (scheme char))

(define (bytes b) ; Guile writes #vu8(...), R7RS #u8(...): write the list of bytes
  (let loop ((i (- (bytevector-length b) 1)) (acc '()))
    (if (< i 0) (cons 'u8 acc) (loop (- i 1) (cons (bytevector-u8-ref b i) acc)))))
(define (show . xs)
  (for-each (lambda (x) (write (if (bytevector? x) (bytes x) x)) (display " ")) xs)
  (newline))

(show (char-ci=? #\a #\A #\a) (char-ci<? #\a #\B #\c) (char-ci>? #\C #\b #\A))
(show (char-ci<=? #\a #\A #\b) (char-ci<=? #\b #\A) (char-ci>=? #\B #\b #\a) (char-ci>=? #\a #\B))
(show (string-ci=? "abc" "ABC" "aBc") (string-ci<? "abc" "ABD") (string-ci>? "B" "a")
      (string-ci>? "a" "B"))
(show (string-ci<=? "ab" "AB" "ac") (string-ci<=? "b" "A") (string-ci>=? "b" "A" "a")
      (string-ci>=? "a" "B"))
(show (char-foldcase #\Q) (string-foldcase "MiXeD") (digit-value #\7) (digit-value #\x))

(define out (open-output-bytevector))
(write-u8 65 out)
(write-bytevector (bytevector 1 2 3 4 5) out 1 3)
(write-bytevector (bytevector 9) out)
(show (get-output-bytevector out) (binary-port? out))

(define in (open-input-bytevector (bytevector 10 20 30 40 50 60)))
(show (peek-u8 in) (read-u8 in) (read-bytevector 2 in) (u8-ready? in))
(define buf (make-bytevector 5 0))
(show (read-bytevector! buf in 1 3) buf (read-bytevector 10 in) (read-u8 in))
(show (eof-object? (read-bytevector 3 in)) (eof-object? (peek-u8 in)))

(define bv (bytevector 1 2 3 4 5 6))
(bytevector-copy! bv 2 bv 0 3)
(show bv)
(bytevector-copy! bv 0 (bytevector 9 8 7) 1)
(show bv)
(let ((b (make-bytevector 3 0)))
  (bytevector-copy! b 3 (bytevector 1) 1)
  (show b))
