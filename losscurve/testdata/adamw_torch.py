# Reference for TestAdamWMatchesPyTorch: PyTorch AdamW (defaults, two
# parameter groups) on f(p) = Σ_k (k+1)(p_k − t_k)² + sin p_k.
# Regenerate: /usr/bin/python3 testdata/adamw_torch.py > testdata/adamw_torch.txt
import torch
p=[torch.tensor(v,dtype=torch.float64,requires_grad=True) for v in [2.5,0.7,540.0,0.4]]
opt=torch.optim.AdamW([{"params":[p[0],p[2]],"lr":5e-2},{"params":[p[1],p[3]],"lr":5e-3}])
target=[2.3,0.65,520.0,0.43]
for step in range(6):
    opt.zero_grad()
    loss=sum((pi-ti)**2*(k+1)+torch.sin(pi) for k,(pi,ti) in enumerate(zip(p,target)))
    loss.backward()
    opt.step()
    print(step+1, " ".join(repr(float(x)) for x in p))
