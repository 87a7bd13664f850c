package hashslot

// Count is the number of hash slots, as in Redis Cluster.
const Count = 16384

// crcTable is the CRC-16/XMODEM table (polynomial 0x1021) Redis Cluster uses.
var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// crc16 returns the CRC-16/XMODEM of b.
func crc16(b []byte) uint16 {
	var c uint16
	for _, x := range b {
		c = c<<8 ^ crcTable[byte(c>>8)^x]
	}
	return c
}

// Of returns the Redis Cluster hash slot of key: CRC16 of the key mod
// 16384, where a key holding a non-empty "{tag}" hashes only the tag, so that
// related keys ("cart:{42}:items", "cart:{42}:meta") share a slot.
func Of(key []byte) int {
	if s := indexByte(key, '{'); s >= 0 {
		if e := indexByte(key[s+1:], '}'); e > 0 {
			key = key[s+1 : s+1+e]
		}
	}
	return int(crc16(key)) % Count
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
