;; On Boehm GC, ephemerons and weak-key tables work (Boehm's disappearing links) and
;; make-guardian is an error that names it.
(import (scheme base) (scheme write) (srfi 69) (srfi 124))
(define k (list 'key))
(define e (make-ephemeron k 'datum))
(define w (make-weak-key-hash-table))
(hash-table-set! w k 1)
(gc)
(display (list (ephemeron-broken? e) (ephemeron-datum e) (hash-table-ref/default w k #f)))
(newline)
(make-guardian)
