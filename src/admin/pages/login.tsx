/** Sign in with the admin token (`ADMIN_TOKEN`). */
export const LoginPage = ({ error }: { error?: string }) => (
  <form method="post" action="/admin/login" class="card login" aria-label="Sign in">
    {error ? (
      <p class="flash error" role="alert">
        {error}
      </p>
    ) : null}
    <label>
      Admin token
      <input name="token" type="password" required autocomplete="current-password" autofocus />
    </label>
    <button type="submit">Sign in</button>
  </form>
);
