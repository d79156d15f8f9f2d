latency_title = "Sequential call latency, median of runs, whiskers min–max"
