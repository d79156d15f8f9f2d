#pragma once
/// The page mesh::admin_server serves at `/`: static HTML and JavaScript, no external resource
/// (works offline), polling `/cluster.json` once a second.

#include <string_view>

namespace mesh::admin {

inline constexpr std::string_view dashboard_html = R"mesh_page(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mesh dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:10px 20px;display:flex;gap:16px;align-items:baseline}
header h1{font-size:18px;margin:0} header span{opacity:.75}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px;padding:16px}
section{background:#fff;border-radius:6px;padding:12px 16px;box-shadow:0 1px 2px #0002}
h2{font-size:15px;margin:0 0 8px} table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:3px 6px;border-bottom:1px solid #eee} th{font-weight:600;color:#556}
.tag{display:inline-block;background:#e8edf7;border-radius:3px;padding:0 6px;margin:1px}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:middle}
canvas{image-rendering:pixelated;width:256px;height:256px;border:1px solid #ddd}
.shards{display:flex;flex-wrap:wrap;gap:16px} .err{color:#a01c1c} .muted{color:#889}
</style></head><body>
<header><h1>mesh</h1><span id="node">connecting…</span><span id="status" class="muted"></span></header>
<main>
<section><h2>Members</h2><table><thead><tr><th>node</th><th>capabilities</th></tr></thead><tbody id="members"></tbody></table></section>
<section><h2>Actors on this node</h2><table><thead><tr><th>actor</th><th>activations</th><th>mailbox</th><th>calls</th><th>calls/s</th><th>errors</th></tr></thead><tbody id="actors"></tbody></table></section>
<section style="grid-column:1/-1"><h2>Shards by owner</h2><div class="shards" id="shards"></div></section>
<section style="grid-column:1/-1"><h2>Recent errors</h2><table><tbody id="errors"></tbody></table></section>
</main>
<script>
"use strict";
const palette=["#4e79a7","#f28e2b","#e15759","#76b7b2","#59a14f","#edc948","#b07aa1","#ff9da7","#9c755f","#bab0ac"];
const colour=i=>palette[i%palette.length];
const esc=s=>String(s).replace(/[&<>"]/g,c=>({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));
let last=null;
function render(d,prev,dt){
  document.getElementById("node").textContent="node "+d.node+" · "+d.members.length+" members";
  document.getElementById("members").innerHTML=d.members.map(m=>
    "<tr><td class=\"member\">"+esc(m.name)+(m.name===d.node?" <span class=\"muted\">(this node)</span>":"")+"</td><td>"+
    m.capabilities.map(c=>"<span class=\"tag\">"+esc(c)+"</span>").join("")+"</td></tr>").join("");
  document.getElementById("actors").innerHTML=d.actors.map(a=>{
    const p=prev&&prev.actors.find(x=>x.actor===a.actor);
    const rate=p&&dt>0?((a.calls_total-p.calls_total)/dt).toFixed(1):"–";
    const errs=a.calls_total-(a.calls.ok||0);
    return "<tr><td>"+esc(a.actor)+" <span class=\"muted\">"+esc(a.capability)+"</span></td><td>"+a.activations+"</td><td>"+
      a.mailbox_depth+"</td><td>"+a.calls_total+"</td><td>"+rate+"</td><td"+(errs?" class=\"err\"":"")+">"+errs+"</td></tr>";}).join("");
  const box=document.getElementById("shards");
  box.innerHTML="";
  for(const c of d.capabilities){
    const div=document.createElement("div");
    const side=c.owners?Math.ceil(Math.sqrt(c.owners.length)):0;
    div.innerHTML="<b>"+esc(c.name)+"</b> <span class=\"muted\">"+c.shard_count+" shards, "+c.owned_here+" here</span><br>";
    if(c.owners){
      const cv=document.createElement("canvas");cv.width=side;cv.height=side;
      const g=cv.getContext("2d");
      c.owners.forEach((o,s)=>{g.fillStyle=colour(o);g.fillRect(s%side,Math.floor(s/side),1,1);});
      div.appendChild(cv);
    }
    const legend=document.createElement("div");
    legend.innerHTML=c.nodes.map((n,i)=>"<span class=\"sw\" style=\"background:"+colour(i)+"\"></span>"+esc(n)).join(" &nbsp;");
    div.appendChild(legend);box.appendChild(div);
  }
  document.getElementById("errors").innerHTML=d.recent_errors.length?d.recent_errors.slice().reverse().map(e=>
    "<tr><td class=\"muted\">"+new Date(e.at_ms).toLocaleTimeString()+"</td><td>"+esc(e.actor)+"</td><td class=\"err\">"+
    esc(e.code)+"</td><td>"+esc(e.message)+"</td></tr>").join(""):"<tr><td class=\"muted\">none</td></tr>";
}
async function poll(){
  try{
    const r=await fetch("cluster.json",{cache:"no-store"});
    const d=await r.json();const now=Date.now();
    render(d,last&&last.d,last?(now-last.t)/1000:0);last={d,t:now};
    document.getElementById("status").textContent="updated "+new Date(now).toLocaleTimeString();
  }catch(e){document.getElementById("status").textContent="unreachable: "+e;}
  setTimeout(poll,1000);
}
poll();
</script></body></html>
)mesh_page";

}  // namespace mesh::admin
