import Knet
print("bench")
