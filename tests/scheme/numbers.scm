;; Exact numbers: bignums and rationals. Every line is written as Guile 3.0 writes it
;; (numbers.out is Guile's output), so the arithmetic is checked against Guile's.
(import (scheme base) (scheme write) (scheme inexact))

(define (show . xs)
  (for-each (lambda (x) (write x) (display " ")) xs)
  (newline))
(define (show-values thunk) (call-with-values thunk show))

;; Fixnum boundaries: the largest fixnum plus one, the smallest minus one, and back.
(define big (+ 4611686018427387903 1))
(show big (- -4611686018427387904 1) (- big 1) (+ (- big) 0) (- (expt 2 62)))
(show (* 4611686018427387903 2) (* -4611686018427387904 -1) (- 0 -4611686018427387904))
(show (exact-integer? big) (exact-integer? (- big 1)) (eqv? (- big 1) 4611686018427387903))
(show (abs -4611686018427387904) (quotient -4611686018427387904 -1))
;; Bignum arithmetic.
(define a 123456789012345678901234567890123)
(define b -98765432109876543210987654321)
(show (+ a b) (- a b) (* a b) (* b b b))
(show (quotient a b) (remainder a b) (modulo a b))
(show (floor-quotient a b) (floor-remainder a b) (truncate-quotient a b) (truncate-remainder a b))
(show-values (lambda () (floor/ (- a) 7)))
(show-values (lambda () (truncate/ (- a) 7)))
(show (expt 2 100) (expt -3 41) (expt 7 0) (expt 0 0) (expt 2 -10) (expt 2/3 -3))
(show (- (* a a) (* a a)) (+ (expt 2 64) (- (expt 2 64))) (eqv? (- (expt 2 70) (expt 2 70)) 0))
(show (gcd (expt 2 100) (expt 6 50)) (lcm (expt 2 65) 3 -4) (gcd 0 a) (gcd -12 18))
(show (< b 0 a) (> a big b) (= (expt 2 80) (* (expt 2 40) (expt 2 40))) (<= 1 big big))
(show (zero? (- a a)) (positive? a) (negative? b) (odd? a) (even? (expt 2 70)) (odd? (+ (expt 2 70) 1)))
(show (max a b 1) (min a b 1) (abs b) (square a))
(show-values (lambda () (exact-integer-sqrt (expt 10 41))))
(show-values (lambda () (exact-integer-sqrt 17)))
(show (sqrt (expt 10 40)) (sqrt 1/4) (sqrt 16/9) (exact (sqrt 2.25)))
;; Rationals.
(show 1/3 (/ 6 4) (/ -6 4) (/ 6 -3) (/ 1 3 5) (/ 4) (/ 1/2) (/ 0 5))
(show (+ 1/3 2/3) (- 1/2 1/3) (* 2/3 3/4) (/ 2/3 4/9) (+ 1/2 (expt 2 70)))
(show (numerator 6/4) (denominator 6/4) (numerator 5) (denominator 5) (numerator -3/9))
(show (floor 7/2) (ceiling 7/2) (truncate 7/2) (round 7/2) (round 5/2))
(show (floor -7/2) (ceiling -7/2) (truncate -7/2) (round -7/2) (round -5/2) (round 1/3))
(show (< 1/3 1/2) (= 1/2 2/4) (= 1/2 0.5) (< 1/3 0.3334) (> 1/3 0.3333))
(show (integer? 1/2) (rational? 1/2) (exact? 1/2) (inexact? 1/2) (exact-integer? 1/2))
(show (eqv? 1/2 (/ 2 4)) (equal? (list 1/2 big) (list (/ 3 6) (+ 4611686018427387903 1))))
(show (rationalize 3/10 1/10) (rationalize 1/3 0) (rationalize -3/10 1/10))
;; Exact and inexact.
(show (exact 0.1) (exact 0.5) (exact -2.75) (exact 1e20) (exact 4.0))
(show (inexact 1/3) (exact (inexact (expt 2 62))) (inexact -1/8) (exact->inexact 7/2))
(show (= (inexact (exact 0.1)) 0.1) (= (exact (inexact 12345678901/3)) 12345678901/3))
;; Rounding to the nearest double, ties to even (written back exactly).
(define (via-double x) (exact (inexact x)))
(show (via-double (/ (expt 10 30) 3)) (via-double (expt 2 1023)) (inexact (- (expt 2 53) 1)))
(show (inexact (+ (expt 2 53) 1)) (inexact (+ (expt 2 54) 3)) (inexact 2/3))
(show (+ 1/2 0.25) (exact (* big 1.0)) (max 1/2 0.25) (min 1 2.0) (exact (floor 2.5)))
;; Reading and writing in other radixes.
(show #x10000000000000000 #b-1000000000000000000000000000000000000000000000000000000000000000000
      #o7777777777777777777777777 #e1.5 #i3/4 #x-ff/11 #e1e25 #e1.25e-3)
(show (number->string (expt 2 70) 16) (number->string (- (expt 3 45)) 2) (number->string 255/256 16))
(show (number->string (expt 10 25) 8) (number->string -1/3 3) (number->string 123456789 36))
(show (string->number "123456789012345678901234567890") (string->number "-ffffffffffffffffff" 16))
(show (string->number "1/3") (string->number "#e0.125") (string->number "1/0") (string->number "1/")
      (string->number "zz" 36) (string->number "1e2" 16) (string->number "/2"))
(show (string->number "#x1/2") (string->number "#i1/8") (string->number "-2/4" 10))
(show (exact-integer? (string->number "4611686018427387904"))
      (exact-integer? (string->number "4611686018427387903")))
;; Flonums as Scheme writes them: exponents without '+' or leading zeros.
(show 1e20 1.5e-5 -2.5e300 (inexact (expt 2 100)))
