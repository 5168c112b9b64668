;; SRFI-18: what thread-join! gives back (values, uncaught exceptions, timeouts), the
;; thread's identity and name, thread-specific, and a few hundred short-lived threads.
(import (scheme base) (scheme write) (scheme time) (srfi 18))

(define (run thunk) (thread-join! (thread-start! (make-thread thunk))))

;; Values, one or a structure built in the thread.
(write (run (lambda () (* 6 7)))) (newline)
(write (run (lambda () (let loop ((i 0) (l '())) (if (= i 5) l (loop (+ i 1) (cons (list i) l)))))))
(newline)

;; An error in the thread is raised by thread-join! as an uncaught-exception.
(define (join-outcome thunk)
  (guard (c ((uncaught-exception? c)
             (let ((r (uncaught-exception-reason c)))
               (list 'uncaught (if (error-object? r) (error-object-message r) r))))
            ((join-timeout-exception? c) 'join-timeout))
    (run thunk)))
(write (join-outcome (lambda () (raise 'oops)))) (newline)
(write (join-outcome (lambda () (error "bad thing" 1 2)))) (newline)
(write (join-outcome (lambda () (car '())))) (newline)
(write (join-outcome (lambda () (with-exception-handler
                                   (lambda (e) 10)
                                   (lambda () (+ 1 (raise-continuable 'c)))))))
(newline)
;; Joining again gives the same outcome.
(define failing (thread-start! (make-thread (lambda () (raise 'again)))))
(define (reason-of-join t) (guard (c (#t (uncaught-exception-reason c))) (thread-join! t)))
(write (list (reason-of-join failing) (reason-of-join failing)))
(newline)

;; Timeouts: the default value, else join-timeout-exception; later the real value.
;; The thread waits for a mutex this thread holds, so it cannot end before the unlock.
(define gate (make-mutex))
(mutex-lock! gate)
(define slow (thread-start! (make-thread (lambda () (mutex-lock! gate) 'slow-done))))
(write (thread-join! slow 0.01 'not-yet)) (newline)
(write (guard (c ((join-timeout-exception? c) 'timed-out)) (thread-join! slow 0.01))) (newline)
(mutex-unlock! gate)
(write (thread-join! slow)) (newline)

;; thread-sleep! waits at least as long as asked; a time already past returns at once.
(define (slept-enough? s)
  (let ((t0 (current-jiffy)))
    (thread-sleep! s)
    (>= (- (current-jiffy) t0) (* s (jiffies-per-second)))))
(write (list (slept-enough? 0.05) (begin (thread-sleep! -1) (thread-sleep! 0) 'past)))
(newline)

;; Identity, names, thread-specific.
(define t (make-thread (lambda () (current-thread)) 'worker))
(write (list (thread-name t) (thread-specific t))) (newline)
(thread-specific-set! t 'data)
(thread-start! t)
(write (list (eq? (thread-join! t) t) (thread-specific t) (eq? (current-thread) t)
             (eq? (current-thread) (current-thread))))
(newline)
(write (guard (c ((error-object? c) (error-object-message c))) (thread-start! t))) (newline)

;; Errors name the procedure.
(write (guard (c ((error-object? c) (error-object-message c))) (thread-join! 5))) (newline)
(write (guard (c ((error-object? c) (error-object-message c))) (mutex-lock! 'm))) (newline)

;; Many short-lived threads, started in waves of 20 and joined.
(define (wave base)
  (let ((ts (let make ((i 0) (acc '()))
              (if (= i 20)
                  acc
                  (make (+ i 1)
                        (cons (thread-start!
                               (make-thread (let ((n (+ base i)))
                                              (lambda () (list n (make-string 3 #\x) (* n n))))))
                              acc))))))
    (apply + (map (lambda (t) (caddr (thread-join! t))) ts))))
(define total
  (let loop ((w 0) (sum 0))
    (if (= w 15) sum (loop (+ w 1) (+ sum (wave (* w 20)))))))
(write (list 'threads 300 'sum-of-squares total (= total (quotient (* 299 300 599) 6))))
(newline)
