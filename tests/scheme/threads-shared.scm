;; SRFI-18: several threads fill one hash table under a mutex, each with its own
;; parameterize bindings and thread-specific value; the table must hold every entry.
(import (scheme base) (scheme write) (srfi 18) (srfi 69))

(define table (make-hash-table equal?))
(define lock (make-mutex 'table))
(define counted 0)
(define who (make-parameter 'nobody))
(define per-thread 400)
(define nthreads 4)

(define (worker id)
  (lambda ()
    (parameterize ((who id))
      (thread-specific-set! (current-thread) (* id 100))
      (let loop ((i 0) (mine '()))
        (if (< i per-thread)
            (let ((key (list id i (number->string (* id i)))))
              (mutex-lock! lock)
              (hash-table-set! table key (string-append "v" (number->string i)))
              (set! counted (+ counted 1))
              (mutex-unlock! lock)
              (if (zero? (modulo i 50)) (thread-yield!))
              (loop (+ i 1) (cons key mine)))
            ;; The thread's own binding and specific survived the others' work.
            (list (who) (thread-specific (current-thread)) (length mine)))))))

(define threads
  (let make ((id 1) (acc '()))
    (if (> id nthreads)
        (reverse acc)
        (make (+ id 1) (cons (thread-start! (make-thread (worker id) id)) acc)))))

(define results (map thread-join! threads))
(write results) (newline)
(write (list 'counted counted 'size (hash-table-size table))) (newline)
(define (all-present? id)
  (let loop ((i 0))
    (or (= i per-thread)
        (and (equal? (hash-table-ref/default table (list id i (number->string (* id i))) #f)
                     (string-append "v" (number->string i)))
             (loop (+ i 1))))))
(write (map all-present? '(1 2 3 4))) (newline)
;; Threads intern the same fresh names at once: each name gives one symbol.
(define (intern-all)
  (let loop ((i 0) (acc '()))
    (if (= i 200)
        (reverse acc)
        (loop (+ i 1) (cons (string->symbol (string-append "fresh-" (number->string i))) acc)))))
(define interned
  (map thread-join!
       (map (lambda (i) (thread-start! (make-thread intern-all))) '(1 2 3 4))))
(write (list (length (car interned))
             (let same? ((ls (cdr interned)))
               (or (null? ls) (and (for-each (lambda (a b) (if (not (eq? a b)) (error "two symbols" a b)))
                                             (car interned) (car ls))
                                   #t
                                   (same? (cdr ls)))))))
(newline)
(write (list (who) (map thread-name threads) (thread? (car threads)) (mutex? lock)
             (mutex-name lock) (thread? lock)))
(newline)
