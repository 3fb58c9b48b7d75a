package redis

const hammerEnv = "CG_REDIS_HAMMER"

func hammerMain() int { return 0 }
