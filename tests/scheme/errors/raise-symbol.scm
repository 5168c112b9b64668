;; expect: error: uncaught exception: oops
(raise (quote oops))
