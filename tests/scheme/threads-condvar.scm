;; SRFI-18: a producer and three consumers share a bounded queue, with one mutex and two
;; condition variables (not-empty, not-full). Every item is consumed exactly once.
(import (scheme base) (scheme write) (srfi 18))

(define items 600)
(define capacity 8)
(define queue '())
(define queued 0)
(define lock (make-mutex))
(define not-empty (make-condition-variable 'not-empty))
(define not-full (make-condition-variable 'not-full))
(define done #f)

;; SRFI-18's idiom: lock, test, and either act or unlock-and-wait, then try again.
(define (put! x)
  (mutex-lock! lock)
  (if (>= queued capacity)
      (begin (mutex-unlock! lock not-full) (put! x))
      (begin
        (set! queue (append queue (list x)))
        (set! queued (+ queued 1))
        (condition-variable-signal! not-empty)
        (mutex-unlock! lock))))

;; An item, or #f once the producer is done and the queue is empty.
(define (take!)
  (mutex-lock! lock)
  (cond ((pair? queue)
         (let ((x (car queue)))
           (set! queue (cdr queue))
           (set! queued (- queued 1))
           (condition-variable-signal! not-full)
           (mutex-unlock! lock)
           x))
        (done (mutex-unlock! lock) #f)
        (else (mutex-unlock! lock not-empty) (take!))))

(define (consumer)
  (let loop ((sum 0) (n 0))
    (let ((x (take!)))
      (if x
          (loop (+ sum (car x)) (+ n 1))
          (list sum n)))))

(define consumers
  (map (lambda (i) (thread-start! (make-thread consumer i))) '(1 2 3)))
(define producer
  (thread-start!
   (make-thread
    (lambda ()
      (let loop ((i 1))
        (when (<= i items)
          (put! (list i (make-vector 3 i)))
          (loop (+ i 1))))
      (mutex-lock! lock)
      (set! done #t)
      (condition-variable-broadcast! not-empty)
      (mutex-unlock! lock)
      'produced))))

(define results (map thread-join! consumers))
(write (thread-join! producer)) (newline)
(write (list 'sum (apply + (map car results)) 'count (apply + (map cadr results))))
(newline)
(write (list 'expected (quotient (* items (+ items 1)) 2))) (newline)
;; A wait that times out returns #f; the mutex is then unlocked.
(mutex-lock! lock)
(write (mutex-unlock! lock not-empty 0.05)) (newline)
(write (list (mutex-lock! lock 0) (mutex-lock! (make-mutex) 0.01)))
(newline)
(write (list (mutex-state lock) (mutex-state (make-mutex)) (eq? (mutex-state lock) (current-thread))))
(newline)
;; A locked mutex: a second lock times out.
(define other (make-thread (lambda () (mutex-lock! lock 0.05))))
(thread-start! other)
(write (thread-join! other)) (newline)
(mutex-unlock! lock)
(write (list (condition-variable? not-full) (condition-variable-name not-full)
             (condition-variable? lock)))
(newline)
