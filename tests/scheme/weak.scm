;; Ephemerons (SRFI 124), weak-key hash tables and guardians on the gcvm collector: what
;; nothing else references is broken, dropped or handed back after a collection, in
;; minor collections (made by allocating) and in full ones ((gc)).
(import (scheme base) (scheme write) (scheme process-context) (srfi 69) (srfi 124))

(define (show . xs) (for-each display xs) (newline))
(define stressed (get-environment-variable "GCVM_GC_STRESS")) ; collections come anyway
(define (churn n) ; allocates about n pairs of garbage: several minor collections
  (let loop ((i 0) (l '())) (if (< i n) (loop (+ i 1) (if (= 0 (modulo i 1000)) '() (cons i l))) #t)))

;; SRFI 124
(define kept-key (list 'kept))
(define e1 (make-ephemeron kept-key 'datum-1))
(define e2 (make-ephemeron (list 'dropped) 'datum-2))
(define e3 (let ((k (list 'self))) (make-ephemeron k (cons k 'refers-to-its-key))))
(define e4 (make-ephemeron 42 'fixnum-key))
(show (ephemeron? e1) " " (ephemeron? kept-key) " " (ephemeron-broken? e1))
(show (ephemeron-key e1) " " (ephemeron-datum e1))
(gc)
(show "after gc: " (ephemeron-broken? e1) " " (ephemeron-broken? e2) " " (ephemeron-broken? e3) " " (ephemeron-broken? e4))
(show (ephemeron-key e1) " " (ephemeron-datum e1) " " (ephemeron-key e2) " " (ephemeron-datum e2) " " (ephemeron-datum e4))
(reference-barrier kept-key)
;; a chain: e5's key is reachable only through e6's datum, whose key is kept
(define e6 (make-ephemeron kept-key (list 'middle)))
(define e5 (make-ephemeron (ephemeron-datum e6) 'end-of-chain))
(gc)
(show "chain: " (ephemeron-broken? e5) " " (ephemeron-datum e5))
;; young keys die in minor collections
(define e7 (make-ephemeron (vector 'young) 'gone-in-a-minor))
(churn (if stressed 3000 120000))
(show "minor: " (ephemeron-broken? e7))

;; weak-key tables: entries whose keys are unreachable go, also when the value refers to
;; the key; the table was old, its new entries young
(define w (make-weak-key-hash-table))
(define held (map (lambda (i) (vector i)) '(0 1 2 3 4)))
(for-each (lambda (k) (hash-table-set! w k (vector-ref k 0))) held)
(gc)
(let loop ((i 0)) (when (< i 100) (let ((k (vector 'tmp i))) (hash-table-set! w k (list k))) (loop (+ i 1))))
(show "before: " (>= (hash-table-size w) 5))
(churn (if stressed 3000 120000))
(show "after minors: " (hash-table-size w))
(gc)
(show "after gc: " (hash-table-size w) " " (map (lambda (k) (hash-table-ref/default w k #f)) held))
(set-cdr! (cddr held) '())
(gc)
(show "three kept: " (hash-table-size w) " " (hash-table-fold w (lambda (k v acc) (+ v acc)) 0))

;; guardians
(define g (make-guardian))
(define (register-fresh n) (let loop ((i 0)) (when (< i n) (g (vector 'obj i)) (loop (+ i 1)))))
(register-fresh 10)
(define kept (vector 'obj 99))
(g kept)
(g 'a-symbol) ; never becomes unreachable
(define (drain) (let loop ((acc 0) (n 0)) (let ((x (g))) (if x (loop (+ acc (vector-ref x 1)) (+ n 1)) (list n acc)))))
(gc)
(show "guardian: " (drain) " " (g))
(set! kept #f)
(gc)
(show "guardian: " (drain))
;; an object handed back is ordinary again: register it once more
(define again (vector 'obj 7))
(g again)
(set! again #f)
(gc)
(let ((x (g))) (g x) (show "back: " (vector-ref x 1)))
(gc)
(show "twice: " (drain))
;; young registered objects handed back after a minor collection
(register-fresh 5)
(churn (if stressed 3000 120000))
(show "minor: " (drain))
;; a dropped guardian drops its registrations
(define g2 (make-guardian))
(g2 (vector 'x))
(set! g2 #f)
(gc)
(show "done")
