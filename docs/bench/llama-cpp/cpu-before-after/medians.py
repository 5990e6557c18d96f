# The tables of README.md from the *.table.md files: python3 medians.py
import re,statistics,sys,os
d=os.path.dirname(os.path.abspath(__file__))
sides=[s for s in ['before','after','before2','after2','before3','after3','before4','after4','before5','after5','before6','after6'] if os.path.exists(f'{d}/{s}.table.md') and os.path.getsize(f'{d}/{s}.table.md')>0]
rows={'prefill tok/s (128-token prompt)':'prefill tok/s, 128-token prompt','decode tok/s, 1 stream,':'decode tok/s, 1 stream','batch decode tok/s, 8 streams':'batch decode tok/s, 8 streams','batch decode tok/s, 32 streams':'batch decode tok/s, 32 streams'}
vals={}
for s in sides:
  for line in open(f'{d}/{s}.table.md'):
    for k,name in rows.items():
      if line.startswith('| '+k):
        c=[x.strip() for x in line.strip().strip('|').split('|')]
        vals.setdefault(name,{})[s]=(float(c[3]), float(c[1]), float(c[2]))
print('| InferServe row | '+' | '.join(sides)+' | median before → after | after/before per pair |')
print('|---|'+'---|'*len(sides)+'---|---|')
for name in rows.values():
  v=vals[name]; b=[v[s][0] for s in sides if s.startswith('before')]; a=[v[s][0] for s in sides if s.startswith('after')]
  mb,ma=statistics.median(b),statistics.median(a)
  ratios=[f"{(v['after'+s[6:]][0]/v[s][0]-1)*100:+.1f} %" for s in sides if s.startswith('before') and 'after'+s[6:] in v]
  print(f"| {name} | "+' | '.join(f'{v[s][0]:.1f}' for s in sides)+f" | {mb:.1f} → {ma:.1f} ({(ma/mb-1)*100:+.1f} %) | {', '.join(ratios)} |")
# llama.cpp drift per side (mean of its two runs), same rows
print()
print('| llama.cpp mean of its two runs | '+' | '.join(sides)+' |')
print('|---|'+'---|'*len(sides))
for name in rows.values():
  v=vals[name]; print(f"| {name} | "+' | '.join(f'{(v[s][1]+v[s][2])/2:.1f}' for s in sides)+' |')
print()
print('| InferServe / llama.cpp in the same run, median over sides | before | after | change |')
print('|---|---|---|---|')
for name in rows.values():
  v=vals[name]
  rb=statistics.median([v[s][0]/((v[s][1]+v[s][2])/2) for s in sides if s.startswith('before')])
  ra=statistics.median([v[s][0]/((v[s][1]+v[s][2])/2) for s in sides if s.startswith('after')])
  print(f"| {name} | {rb:.3f} | {ra:.3f} | {(ra/rb-1)*100:+.1f} % |")
