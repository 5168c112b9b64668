;; SRFI-69 hash tables under churn: an eq? table keyed by objects that were young when
;; inserted and move when they are promoted (identity hashes must survive that), an
;; equal? table keyed by short lists, and a string table counting generated words, with
;; updates, deletions and folds. Runs on Guile 3 as well.
(import (scheme base) (scheme write) (srfi 69))

(define object-count 20000)
(define rounds 12)

;; eq?: keys are fresh vectors; each round updates every other key's count and replaces
;; a tenth of the keys by fresh ones (deleting the old entries).
(define (eq-phase)
  (let ((table (make-hash-table eq?))
        (keys (make-vector object-count #f)))
    (do ((i 0 (+ i 1))) ((= i object-count))
      (let ((k (vector i)))
        (vector-set! keys i k)
        (hash-table-set! table k 0)))
    (do ((r 0 (+ r 1))) ((= r rounds))
      (do ((i (modulo r 2) (+ i 2))) ((>= i object-count))
        (hash-table-update!/default table (vector-ref keys i) (lambda (c) (+ c 1)) 0))
      (do ((i r (+ i 10))) ((>= i object-count))
        (let ((old (vector-ref keys i)) (fresh (vector (+ i (* r object-count)))))
          (hash-table-delete! table old)
          (vector-set! keys i fresh)
          (hash-table-set! table fresh r))))
    (let loop ((i 0) (sum 0))
      (if (= i object-count)
          (+ sum (hash-table-size table))
          (loop (+ i 1) (+ sum (hash-table-ref table (vector-ref keys i) (lambda () -1000000))))))))

;; equal?: keys are lists made again for each lookup.
(define (equal-phase)
  (let ((table (make-hash-table equal?)))
    (do ((r 0 (+ r 1))) ((= r rounds))
      (do ((i 0 (+ i 1))) ((= i 5000))
        (let ((key (list (modulo (* i 7) 997) 'k (modulo i 13))))
          (hash-table-update! table key (lambda (v) (+ v i)) (lambda () 0)))))
    (hash-table-fold table (lambda (k v acc) (+ acc (modulo v 1000) (car k))) (hash-table-size table))))

;; string=?: counts of generated words.
(define (word i)
  (let ((s (make-string (+ 3 (modulo i 5)) #\a)))
    (do ((j 0 (+ j 1)) (x i (quotient x 7))) ((= j (string-length s)) s)
      (string-set! s j (integer->char (+ 97 (modulo x 7)))))))

(define (string-phase)
  (let ((table (make-hash-table string=? string-hash)))
    (do ((i 0 (+ i 1))) ((= i 120000))
      (hash-table-update!/default table (word (modulo (* i 31) 40009)) (lambda (c) (+ c 1)) 0))
    (let ((total (hash-table-fold table (lambda (k v acc) (+ acc v)) 0)))
      (+ total (* 3 (hash-table-size table))
         (hash-table-ref/default table "aaa" 0)
         (length (hash-table-keys table))))))

(define (run)
  (list (eq-phase) (equal-phase) (string-phase)))

(let ((result (run)))
  (if (equal? result '(189990 4978265 227068))
      (begin (display "hashtab: ok") (newline))
      (error "hashtab: wrong result" result)))
